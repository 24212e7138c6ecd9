/** API-token records in Workers KV, keyed by the SHA-256 of the token: the token itself is never stored. */

import { KV_PREFIXES, tokenKey } from "../../common/kv-keys.js";
import { listKeys } from "../../common/kv-list";
import { normalizeTokenRecord, type TokenRecord, tokenIdOf } from "./token-record";

/**
 * Known tokens are kept in isolate memory for 30 s: a workstation sends the same token on every call.
 * Revocation does not rely on this cache nor on KV (which propagates in up to 60 s): every request
 * also checks the controls snapshot (src/controls/controls-snapshot.ts), refreshed within 9 s.
 * Unknown tokens are never cached, so a new token works at once.
 */
const CACHE_MS = 30_000;
const CACHE_MAX = 1_000;
const cache = new Map<string, { record: TokenRecord; until: number }>();

export async function getTokenRecord(kv: KVNamespace, tokenHash: string): Promise<TokenRecord | null> {
  const now = Date.now();
  const hit = cache.get(tokenHash);
  if (hit && hit.until > now) return hit.record;
  const raw = await kv.get<Record<string, unknown>>(tokenKey(tokenHash), "json");
  const record = raw ? normalizeTokenRecord(raw, tokenHash) : null;
  if (record) {
    if (cache.size >= CACHE_MAX) cache.clear();
    cache.set(tokenHash, { record, until: now + CACHE_MS });
  } else {
    cache.delete(tokenHash);
  }
  return record;
}

/** The KV key hash of the token with this id, found by key prefix (the key holds the full hash). */
export async function findTokenHashById(kv: KVNamespace, id: string): Promise<string | null> {
  const keys = await listKeys(kv, tokenKey(id));
  const key = keys.find((k) => tokenIdOf(k.name.slice(KV_PREFIXES.token.length)) === id);
  return key ? key.name.slice(KV_PREFIXES.token.length) : null;
}

export async function deleteTokenRecord(kv: KVNamespace, tokenHash: string): Promise<void> {
  cache.delete(tokenHash);
  await kv.delete(tokenKey(tokenHash));
}
