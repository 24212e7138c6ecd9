import { registerToken } from "../controls/control-store";
import { sha256Hex, toBase64Url } from "../lib/encoding";
import { type Scope, type TokenRecord, tokenIdOf } from "./token-record";
import { putTokenRecord } from "./token-store";

const TOKEN_PREFIX_TEXT = "qrf_";
const TOKEN_BYTES = 32; // 256 bits
const DAY_MS = 86_400_000;

/** Lowercase hex SHA-256 of the token as typed: the only form in which tokens are stored. */
export function hashToken(token: string): Promise<string> {
  return sha256Hex(token);
}

export function generateToken(): string {
  return TOKEN_PREFIX_TEXT + toBase64Url(crypto.getRandomValues(new Uint8Array(TOKEN_BYTES)));
}

export interface NewToken {
  /** Required unless the scopes hold `admin`. */
  rpAppId: string | null;
  scopes: Scope[];
  label?: string;
  expiresInDays?: number;
  /** Instead of days, for short-lived tokens (the demo's). */
  expiresInSeconds?: number;
}

/**
 * Mints a token: its record goes to the registry (CONTROL_DB, what lists and revocation use) and to
 * KV under its hash (what each request reads). Returns the token: the only time it is ever seen.
 */
export async function createToken(
  kv: KVNamespace,
  db: D1Database,
  fields: NewToken,
): Promise<{ token: string; record: TokenRecord }> {
  const token = generateToken();
  const tokenHash = await hashToken(token);
  const now = Date.now();
  const admin = fields.scopes.includes("admin");
  const ttlMs =
    fields.expiresInSeconds !== undefined
      ? fields.expiresInSeconds * 1000
      : fields.expiresInDays !== undefined
        ? fields.expiresInDays * DAY_MS
        : null;
  const record: TokenRecord = {
    id: tokenIdOf(tokenHash),
    rpAppId: admin ? null : fields.rpAppId,
    scopes: admin ? ["admin"] : [...new Set(fields.scopes)],
    label: fields.label ?? "",
    createdAt: now,
    expiresAt: ttlMs === null ? null : now + ttlMs,
  };
  // Registry first: a token that exists in KV is always one revocation can find.
  await registerToken(db, record);
  await putTokenRecord(kv, tokenHash, record);
  return { token, record };
}
