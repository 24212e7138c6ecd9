import type { QueuedAuditEvent } from "./event";

/**
 * The audit outbox: events whose queue send failed, kept in KV until the cron trigger
 * (or the background retry) gets them onto the queue. Keys sort by event time.
 */
export const OUTBOX_PREFIX = "outbox:v1:";

export function outboxKey(event: QueuedAuditEvent): string {
  return `${OUTBOX_PREFIX}${String(event.eventTimeInUTC).padStart(15, "0")}:${event.id}`;
}

export function putOutbox(kv: KVNamespace, event: QueuedAuditEvent): Promise<void> {
  return kv.put(outboxKey(event), JSON.stringify(event));
}

export function deleteOutbox(kv: KVNamespace, key: string): Promise<void> {
  return kv.delete(key);
}

export async function listOutbox(kv: KVNamespace, limit: number): Promise<string[]> {
  const page = await kv.list({ prefix: OUTBOX_PREFIX, limit });
  return page.keys.map((k) => k.name);
}

export function getOutbox(kv: KVNamespace, key: string): Promise<QueuedAuditEvent | null> {
  return kv.get<QueuedAuditEvent>(key, "json");
}
