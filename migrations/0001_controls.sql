-- The control database (binding CONTROL_DB), owned by the main Worker: API tokens' registry and the
-- per-application QR fallback settings. Read by every isolate as one snapshot at most every 5 s
-- (src/controls/controls-snapshot.ts), so a revocation or a settings change holds everywhere within
-- 10 s. Kept apart from the audit trail's database so an audit flood never delays these reads.

-- One row per API token. The token itself is never stored: `id` is the first 16 hex characters of
-- its SHA-256 (the KV record holds the full hash); revoked rows stay until the token would expire.
CREATE TABLE api_tokens (
  id TEXT PRIMARY KEY,
  rp_app_id TEXT,
  scopes TEXT NOT NULL,
  label TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  revoked_at INTEGER
);
CREATE INDEX api_tokens_revoked ON api_tokens (revoked_at) WHERE revoked_at IS NOT NULL;

-- Per RP application; NULL columns take the deployment's defaults (enabled, QR_TTL_SECONDS, RP_URL).
CREATE TABLE app_settings (
  app_id TEXT PRIMARY KEY,
  enabled INTEGER,
  qr_ttl_seconds INTEGER,
  rp_url TEXT,
  updated_at INTEGER NOT NULL,
  updated_by TEXT NOT NULL
);
