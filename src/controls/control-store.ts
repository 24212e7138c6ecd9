/**
 * The control database (CONTROL_DB, migrations/): the API tokens' registry and the per-application
 * settings. Every statement on it lives here. D1 without read replication sends every query to the
 * primary, so what is read here is what was last written, wherever the Worker runs.
 */
import type { Scope, TokenRecord } from "../auth/token-record";

/** What an administrator set for one application; null = the deployment's default. */
export interface StoredSettings {
  enabled: boolean | null;
  qrTtlSeconds: number | null;
  rpUrl: string | null;
}

export interface SettingsRow extends StoredSettings {
  appId: string;
  updatedAt: number;
  updatedBy: string;
}

interface SettingsSqlRow {
  app_id: string;
  enabled: number | null;
  qr_ttl_seconds: number | null;
  rp_url: string | null;
  updated_at: number;
  updated_by: string;
}

const fromSettingsRow = (r: SettingsSqlRow): SettingsRow => ({
  appId: r.app_id,
  enabled: r.enabled === null ? null : r.enabled === 1,
  qrTtlSeconds: r.qr_ttl_seconds,
  rpUrl: r.rp_url,
  updatedAt: r.updated_at,
  updatedBy: r.updated_by,
});

const SELECT_SETTINGS = "SELECT app_id, enabled, qr_ttl_seconds, rp_url, updated_at, updated_by FROM app_settings";
const SELECT_REVOKED =
  "SELECT id FROM api_tokens WHERE revoked_at IS NOT NULL AND (expires_at IS NULL OR expires_at > ?1)";

/** Everything an isolate needs to authorize and configure requests, in one round trip. */
export async function readControls(db: D1Database, now: number) {
  const [settings, revoked] = await db.batch([db.prepare(SELECT_SETTINGS), db.prepare(SELECT_REVOKED).bind(now)]);
  return {
    settings: (settings.results as unknown as SettingsSqlRow[]).map(fromSettingsRow),
    revokedTokenIds: (revoked.results as { id: string }[]).map((r) => r.id),
  };
}

export async function getSettings(db: D1Database, appId: string): Promise<SettingsRow | null> {
  const row = await db.prepare(`${SELECT_SETTINGS} WHERE app_id = ?1`).bind(appId).first<SettingsSqlRow>();
  return row ? fromSettingsRow(row) : null;
}

export async function listSettings(db: D1Database): Promise<SettingsRow[]> {
  const { results } = await db.prepare(`${SELECT_SETTINGS} ORDER BY app_id`).all<SettingsSqlRow>();
  return results.map(fromSettingsRow);
}

export async function putSettings(db: D1Database, row: SettingsRow): Promise<void> {
  await db
    .prepare(
      `INSERT INTO app_settings (app_id, enabled, qr_ttl_seconds, rp_url, updated_at, updated_by)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6)
       ON CONFLICT (app_id) DO UPDATE SET enabled = ?2, qr_ttl_seconds = ?3, rp_url = ?4, updated_at = ?5, updated_by = ?6`,
    )
    .bind(
      row.appId,
      row.enabled === null ? null : row.enabled ? 1 : 0,
      row.qrTtlSeconds,
      row.rpUrl,
      row.updatedAt,
      row.updatedBy,
    )
    .run();
}

// --- tokens --------------------------------------------------------------------------------------

interface TokenSqlRow {
  id: string;
  rp_app_id: string | null;
  scopes: string;
  label: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
}

const fromTokenRow = (r: TokenSqlRow): TokenRecord & { revokedAt: number | null } => ({
  id: r.id,
  rpAppId: r.rp_app_id,
  scopes: r.scopes.split(",").filter(Boolean) as Scope[],
  label: r.label,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
});

export const INSERT_TOKEN_SQL = `INSERT INTO api_tokens (id, rp_app_id, scopes, label, created_at, expires_at)
  VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (id) DO NOTHING`;

export async function registerToken(db: D1Database, t: TokenRecord): Promise<void> {
  await db.prepare(INSERT_TOKEN_SQL).bind(t.id, t.rpAppId, t.scopes.join(","), t.label, t.createdAt, t.expiresAt).run();
}

/** Tokens neither revoked nor expired, newest first. */
export async function listRegisteredTokens(db: D1Database, now: number): Promise<TokenRecord[]> {
  const { results } = await db
    .prepare(
      `SELECT id, rp_app_id, scopes, label, created_at, expires_at, revoked_at FROM api_tokens
       WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?1) ORDER BY created_at DESC, id`,
    )
    .bind(now)
    .all<TokenSqlRow>();
  return results.map(fromTokenRow);
}

export async function getRegisteredToken(db: D1Database, id: string) {
  const row = await db
    .prepare("SELECT id, rp_app_id, scopes, label, created_at, expires_at, revoked_at FROM api_tokens WHERE id = ?1")
    .bind(id)
    .first<TokenSqlRow>();
  return row ? fromTokenRow(row) : null;
}

/** Marks a token revoked (adding its row when only KV knew it: tokens made before the registry). */
export async function markRevoked(db: D1Database, t: TokenRecord, now: number): Promise<void> {
  await db
    .prepare(
      `INSERT INTO api_tokens (id, rp_app_id, scopes, label, created_at, expires_at, revoked_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (id) DO UPDATE SET revoked_at = ?7 WHERE revoked_at IS NULL`,
    )
    .bind(t.id, t.rpAppId, t.scopes.join(","), t.label, t.createdAt, t.expiresAt, now)
    .run();
}
