/** API-token records in Workers KV, keyed by the SHA-256 of the token: the token itself is never stored. */
export const TOKEN_PREFIX = "token:v1:";

export interface TokenRecord {
  /** RP application the token acts for; an admin token's own app is informational. */
  rpAppId: string;
  admin: boolean;
  label: string;
  createdAt: number;
}

export function getTokenRecord(kv: KVNamespace, tokenHash: string): Promise<TokenRecord | null> {
  return kv.get<TokenRecord>(TOKEN_PREFIX + tokenHash, "json");
}

export function putTokenRecord(kv: KVNamespace, tokenHash: string, record: TokenRecord): Promise<void> {
  // The record doubles as list metadata so listing tokens needs no per-key reads.
  return kv.put(TOKEN_PREFIX + tokenHash, JSON.stringify(record), { metadata: record });
}

/** Every token record (metadata only), following KV's list cursor. */
export async function listTokenRecords(kv: KVNamespace): Promise<TokenRecord[]> {
  const records: TokenRecord[] = [];
  let cursor: string | undefined;
  do {
    const page: KVNamespaceListResult<TokenRecord> = await kv.list<TokenRecord>({ prefix: TOKEN_PREFIX, cursor });
    for (const key of page.keys) if (key.metadata) records.push(key.metadata);
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return records;
}
