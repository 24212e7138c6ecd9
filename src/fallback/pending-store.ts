/** The pending-payload store: sealed fallback payloads in Workers KV, one entry per live code. */
export const PENDING_PREFIX = "pending:v1:";

export function pendingKey(indexId: string): string {
  return PENDING_PREFIX + indexId;
}

export function getSealed(kv: KVNamespace, indexId: string): Promise<ArrayBuffer | null> {
  return kv.get(pendingKey(indexId), "arrayBuffer");
}

export function putSealed(kv: KVNamespace, indexId: string, sealed: ArrayBuffer, ttlSeconds: number): Promise<void> {
  return kv.put(pendingKey(indexId), sealed, { expirationTtl: ttlSeconds });
}

export function deleteSealed(kv: KVNamespace, indexId: string): Promise<void> {
  return kv.delete(pendingKey(indexId));
}
