import type { QueuedAuditEvent } from "../../common/audit-contract";
import { KV_PREFIXES, outboxKey } from "../../common/kv-keys.js";

export { outboxKey };

/**
 * The audit outbox: events whose queue send failed, kept in KV until the cron trigger
 * (or the background retry) gets them onto the queue. Keys sort by event time.
 */

export function putOutbox(kv: KVNamespace, event: QueuedAuditEvent): Promise<void> {
  return kv.put(outboxKey(event), JSON.stringify(event));
}

export function deleteOutbox(kv: KVNamespace, key: string): Promise<void> {
  return kv.delete(key);
}

export async function listOutbox(kv: KVNamespace, limit: number): Promise<string[]> {
  const page = await kv.list({ prefix: KV_PREFIXES.outbox, limit });
  return page.keys.map((k) => k.name);
}

export function getOutbox(kv: KVNamespace, key: string): Promise<QueuedAuditEvent | null> {
  return kv.get<QueuedAuditEvent>(key, "json");
}
