// API tokens as both the Worker (src/auth, src/controls) and `npm run token` (scripts/token.mjs) see
// them: scopes, ids, how a stored record reads, its KV expiry, and every
// SQL statement on the registry (CONTROL_DB `api_tokens`), and minting. Plain JavaScript so the CLI
// imports it.
import { tokenKey } from "./kv-keys.js";

/** What a token may do (SPEC §7): `admin` is everything, for every application. */
export const SCOPES = /** @type {const} */ (["qr:create", "audit:read", "admin"]);

/** @typedef {(typeof SCOPES)[number]} Scope */

/**
 * A token as stored (by the SHA-256 of the token in KV, by id in the registry): never the token.
 * @typedef {object} TokenRecord
 * @property {string} id the first 16 hex characters of the token's SHA-256
 * @property {string | null} rpAppId the application it acts for; null for admin tokens
 * @property {Scope[]} scopes
 * @property {string} label
 * @property {number} createdAt
 * @property {number | null} expiresAt epoch ms after which it is refused; null = never
 */

/** An application token made without --scope or `scopes` gets both application scopes. */
/** @type {Scope[]} */
export const DEFAULT_APP_SCOPES = ["qr:create", "audit:read"];

export const TOKEN_ID_LENGTH = 16;

/** @param {string} tokenHash lowercase hex SHA-256 of the token */
export const tokenIdOf = (tokenHash) => tokenHash.slice(0, TOKEN_ID_LENGTH);

/**
 * A stored KV record as a TokenRecord; null for a record without scopes (written before 0.3 and its
 * registry, retired in 0.8: such tokens are refused).
 * @param {Record<string, unknown>} raw
 * @param {string} tokenHash
 * @returns {TokenRecord | null}
 */
export function normalizeTokenRecord(raw, tokenHash) {
  if (!Array.isArray(raw.scopes)) return null;
  /** @type {Scope[]} */
  const scopes = raw.scopes.filter((s) => /** @type {readonly unknown[]} */ (SCOPES).includes(s));
  return {
    id: tokenIdOf(tokenHash),
    rpAppId: typeof raw.rpAppId === "string" && !scopes.includes("admin") ? raw.rpAppId : null,
    scopes,
    label: typeof raw.label === "string" ? raw.label : "",
    createdAt: typeof raw.createdAt === "number" ? raw.createdAt : 0,
    expiresAt: typeof raw.expiresAt === "number" ? raw.expiresAt : null,
  };
}

/**
 * KV drops a record an hour after its token expires (the check itself is on expiresAt).
 * @param {number | null} expiresAt
 * @returns {number | undefined} KV `expiration`, epoch seconds
 */
export const kvExpirationOf = (expiresAt) => (expiresAt === null ? undefined : Math.ceil(expiresAt / 1000) + 3600);

// --- the registry (CONTROL_DB, migrations/0001_controls.sql) -----------------------------------

const COLUMNS = "id, rp_app_id, scopes, label, created_at, expires_at, revoked_at";

/** Every registered token (revoked ones too); ?1..?6 = tokenRow(record). */
export const SELECT_TOKENS = `SELECT ${COLUMNS} FROM api_tokens`;
export const SELECT_TOKEN = `${SELECT_TOKENS} WHERE id = ?1`;
export const INSERT_TOKEN = `INSERT INTO api_tokens (id, rp_app_id, scopes, label, created_at, expires_at)
  VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (id) DO NOTHING`;
/** Marks a registered token revoked at ?7 (the insert half only keeps the statement one step). */
export const REVOKE_TOKEN = `INSERT INTO api_tokens (${COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
  ON CONFLICT (id) DO UPDATE SET revoked_at = ?7 WHERE revoked_at IS NULL`;
/** Ids revoked and not yet expired at ?1: what every isolate's controls snapshot holds. */
export const SELECT_REVOKED_IDS =
  "SELECT id FROM api_tokens WHERE revoked_at IS NOT NULL AND (expires_at IS NULL OR expires_at > ?1)";

/**
 * ?1..?6 of INSERT_TOKEN and REVOKE_TOKEN.
 * @param {TokenRecord} t
 */
export const tokenRow = (t) => [t.id, t.rpAppId, t.scopes.join(","), t.label, t.createdAt, t.expiresAt];

/**
 * A registry row as a TokenRecord with its revocation time.
 * @param {{ id: string, rp_app_id: string | null, scopes: string, label: string, created_at: number, expires_at: number | null, revoked_at: number | null }} r
 */
export const fromTokenRow = (r) => ({
  id: r.id,
  rpAppId: r.rp_app_id,
  scopes: /** @type {Scope[]} */ (r.scopes.split(",").filter(Boolean)),
  label: r.label,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
});

// --- minting: the one place a token is made (POST /cc/api/tokens, the demo, `npm run token`) -------

const TOKEN_PREFIX = "qrf_";
/** 256 bits from the platform's CSPRNG (Web Crypto, in the Worker and in Node alike). */
const TOKEN_BYTES = 32;
const DAY_MS = 86_400_000;

/**
 * Lowercase hex SHA-256 of the token as typed: the only form in which tokens are stored.
 * @param {string} token
 */
export async function hashToken(token) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

function generateToken() {
  const bytes = crypto.getRandomValues(new Uint8Array(TOKEN_BYTES));
  return (
    TOKEN_PREFIX +
    btoa(String.fromCharCode(...bytes))
      .replaceAll("+", "-")
      .replaceAll("/", "_")
      .replace(/=+$/, "")
  );
}

/**
 * @typedef {object} NewToken
 * @property {string | null} rpAppId required unless the scopes hold `admin`
 * @property {Scope[]} scopes
 * @property {string} [label]
 * @property {number} [expiresInDays]
 * @property {number} [expiresInSeconds] instead of days, for short-lived tokens (the demo's)
 */

/**
 * The bindings minting writes to, as the Worker has them (and the CLI, through Miniflare or wrangler).
 * @typedef {{ put(key: string, value: string, options: { metadata: unknown, expiration?: number }): Promise<unknown> }} TokenKv
 * @typedef {{ run(): Promise<unknown> }} TokenStatement
 * @typedef {{ prepare(sql: string): { bind(...values: unknown[]): TokenStatement }, batch?(statements: any[]): Promise<unknown> }} TokenDb
 */

/**
 * Mints a token: its record goes to the registry (CONTROL_DB: what lists and revocation use), then to
 * KV under its hash (what each request reads), so a token KV knows is always one revocation can find.
 * Returns the token: the only time it is ever seen.
 * `keepEvent` gives a statement to run in the same transaction as the registry's insert (the API's
 * audit event, src/controls/change-events.ts); the CLI's tokens have none.
 * @param {TokenKv} kv
 * @param {TokenDb} db
 * @param {NewToken} fields
 * @param {{ now?: number, keepEvent?: (record: TokenRecord) => TokenStatement }} [options]
 * @returns {Promise<{ token: string, record: TokenRecord }>}
 */
export async function mintToken(kv, db, fields, { now = Date.now(), keepEvent } = {}) {
  const token = generateToken();
  const tokenHash = await hashToken(token);
  const admin = fields.scopes.includes("admin");
  const ttlMs =
    fields.expiresInSeconds !== undefined
      ? fields.expiresInSeconds * 1000
      : fields.expiresInDays !== undefined
        ? fields.expiresInDays * DAY_MS
        : null;
  /** @type {TokenRecord} */
  const record = {
    id: tokenIdOf(tokenHash),
    rpAppId: admin ? null : fields.rpAppId,
    scopes: admin ? ["admin"] : [...new Set(fields.scopes)],
    label: fields.label ?? "",
    createdAt: now,
    expiresAt: ttlMs === null ? null : now + ttlMs,
  };
  const insert = db.prepare(INSERT_TOKEN).bind(...tokenRow(record));
  if (keepEvent && db.batch) await db.batch([insert, keepEvent(record)]);
  else await insert.run();
  await kv.put(tokenKey(tokenHash), JSON.stringify(record), {
    metadata: record,
    expiration: kvExpirationOf(record.expiresAt),
  });
  return { token, record };
}
