// What each var of common/config-vars.js does, for the generated table of docs/configuration.md
// (`npm run config` fails when a var has no description here, or a description no var).

/** @type {Record<string, string>} */
export const VAR_DESCRIPTIONS = {
  RP_URL:
    "Public https URL of the deployment, written into every QR payload as rpUrl. Unset, the Worker answers 503 SERVICE_MISCONFIGURED and `npm run deploy` refuses; `npm run dev` passes its own.",
  TENANT_ID: "Tenant id written into every audit event.",
  QR_FALLBACK_SECURITY_APP:
    "The audit trail that events of no RP application go to (unknown-code lookups, refusals, attack mode); `GET /cc/api/application` always lists it.",
  QR_TTL_SECONDS: "Lifetime of a QR code and of its fallback payload, in seconds (at least 60, KV's minimum).",
  CLAIM_SHARDS:
    'How code claims are sharded: "regional" only since 0.8.0 (the claim shards of each index character in the region that holds it); `npm run deploy` refuses a live version that runs neither this nor "64" (common/claim-shards.js).',
  CLAIM_LEGACY_UNTIL:
    "Set by `npm run deploy` (never by hand) when the live version still makes 0.7's claims: until this epoch ms, codes are also claimed at the 0.7 shards, so none is issued twice during the move.",
  CLAIM_DEFAULT_REGION:
    "The region (a Durable Object location hint) whose shards claim the codes of a create with no location (`request.cf` absent, as locally).",
  CODE_LENGTH: "Length of activation codes; length × log2(alphabet size) must be at least 20 bits.",
  CODE_ALPHABET: "Characters of activation codes (a-z and 0-9 only: input is case-folded).",
  DEMO_ENABLED: "The /demo page and its helper API; `npm run dev` turns it on. Needs a localhost RP_URL.",
  EVENT_HOOKS_ALLOW_LOCAL: "Lets event hooks point at http://localhost (`npm run dev` and the tests only).",
  EVENT_HOOK_RETRY_BASE_SECONDS: "First retry delay of a failed hook delivery; each retry doubles it.",
  CORS_ALLOWED_ORIGINS: "Comma-separated browser origins allowed by CORS; empty, CORS is closed.",
  GUESS_BUDGET_PER_MINUTE:
    "Wrong normal-length codes the whole deployment may evaluate in any minute; past it, attack mode.",
  GUESS_BUDGET_PER_DAY: "The same in a UTC day.",
  ATTACK_CODE_LENGTH: "Length of the codes issued in attack mode (at least 40 bits).",
  ATTACK_MIN_SECONDS:
    "Attack mode lasts at least this long (at most 90), then while guesses keep coming at half the minute budget.",
  CLIENT_DAILY_FAILURE_CAP: "Failed lookups a day per client (IPv4 address, IPv6 /64).",
  NETWORK_DAILY_FAILURE_CAP: "Failed lookups a day per network (IPv4 /24, IPv6 /48).",
  LEDGER_BATCH_MS: "Failed lookups reach their network's ledger at most once per this many ms per isolate (0 to 5000).",
  AUDIT_BATCH_MS: "An audit event waits this many ms in isolate memory to share a queue send (0 to 5000).",
  AUDIT_RETRY_MAX_DELAY_SECONDS:
    "An audit batch the database refused is retried after 2, 4, 8 ... seconds, at most this many; with the queue's max_retries (20) the retries span over 10 minutes before the dead-letter queue.",
  AUDIT_RETENTION_DAYS: "Days an event stays in D1; older days are archived to R2 (gzip NDJSON) and pruned hourly.",
};
