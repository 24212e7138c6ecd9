/** API-token records in Workers KV, keyed by the SHA-256 of the token: the token itself is never stored. */
import { KV_PREFIXES, tokenKey } from "../../common/kv-keys.js";
import { listMetadata } from "../../common/kv-list";

export interface TokenRecord {
  /** RP application the token acts for; an admin token's own app is informational. */
  rpAppId: string;
  admin: boolean;
  label: string;
  createdAt: number;
}

/**
 * Known tokens are kept in isolate memory for 30 s: a workstation sends the same token on every call.
 * A revoked token stops working within that time, which is within KV's own propagation delay
 * (up to 60 s) anyway. Unknown tokens are never cached, so a new token works at once.
 */
const CACHE_MS = 30_000;
const CACHE_MAX = 1_000;
const cache = new Map<string, { record: TokenRecord; until: number }>();

export async function getTokenRecord(kv: KVNamespace, tokenHash: string): Promise<TokenRecord | null> {
  const now = Date.now();
  const hit = cache.get(tokenHash);
  if (hit && hit.until > now) return hit.record;
  const record = await kv.get<TokenRecord>(tokenKey(tokenHash), "json");
  if (record) {
    if (cache.size >= CACHE_MAX) cache.clear();
    cache.set(tokenHash, { record, until: now + CACHE_MS });
  } else {
    cache.delete(tokenHash);
  }
  return record;
}

export function putTokenRecord(
  kv: KVNamespace,
  tokenHash: string,
  record: TokenRecord,
  expirationTtl?: number,
): Promise<void> {
  // The record doubles as list metadata so listing tokens needs no per-key reads.
  return kv.put(tokenKey(tokenHash), JSON.stringify(record), { metadata: record, expirationTtl });
}

/** Every token record (metadata only), following KV's list cursor. */
export function listTokenRecords(kv: KVNamespace): Promise<TokenRecord[]> {
  return listMetadata<TokenRecord>(kv, KV_PREFIXES.token);
}
