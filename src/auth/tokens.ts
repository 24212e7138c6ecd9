import { sha256Hex, toBase64Url } from "../lib/encoding";
import { putTokenRecord, type TokenRecord } from "./token-store";

const TOKEN_PREFIX_TEXT = "qrf_";
const TOKEN_BYTES = 32; // 256 bits

/** Lowercase hex SHA-256 of the token as typed: the only form in which tokens are stored. */
export function hashToken(token: string): Promise<string> {
  return sha256Hex(token);
}

export function generateToken(): string {
  return TOKEN_PREFIX_TEXT + toBase64Url(crypto.getRandomValues(new Uint8Array(TOKEN_BYTES)));
}

/** Mints a token, stores its hash, and returns the token: the only time it is ever seen. */
export async function createToken(
  kv: KVNamespace,
  fields: { rpAppId: string; admin?: boolean; label?: string; expirationTtl?: number },
): Promise<{ token: string; record: TokenRecord }> {
  const token = generateToken();
  const record: TokenRecord = {
    rpAppId: fields.rpAppId,
    admin: fields.admin ?? false,
    label: fields.label ?? "",
    createdAt: Date.now(),
  };
  await putTokenRecord(kv, await hashToken(token), record, fields.expirationTtl);
  return { token, record };
}
