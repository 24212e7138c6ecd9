/**
 * Administrators' changes (settings, tokens) and their audit events as one durable fact: the event
 * goes into the control database's `audit_outbox` in the same D1 transaction as the change, and only
 * if the change changed a row (SQLite's changes()). The Worker sends it right after answering and
 * deletes the row; the minute cron sends what an isolate left (docs/audit-events.md).
 */
import type { QueuedAuditEvent } from "../../common/audit-contract";

/** Run right after the change's statement in one batch: the event is kept only if a row changed. */
export const KEEP_EVENT_IF_CHANGED =
  "INSERT INTO audit_outbox (id, body, created_at) SELECT ?1, ?2, ?3 WHERE changes() > 0 RETURNING id";

/** Whether the batch result of KEEP_EVENT_IF_CHANGED kept the event (so this request must send it). */
export const eventKept = (result: D1Result) => result.results.length > 0;

/** Rows an isolate should have sent by now: older than this, the cron sends them. */
export const LEFT_AFTER_MS = 10_000;
const MAX_PER_SEND = 100;

export const keepEventStatement = (db: D1Database, event: QueuedAuditEvent) =>
  db.prepare(KEEP_EVENT_IF_CHANGED).bind(event.id, JSON.stringify(event), Date.now());

/** After the answer: the event to the queue, then its row out of the outbox (a failed send leaves it for the cron). */
export async function sendKeptEvent(db: D1Database, queue: Queue, event: QueuedAuditEvent): Promise<void> {
  await queue.send(event, { contentType: "json" });
  await db.prepare("DELETE FROM audit_outbox WHERE id = ?1").bind(event.id).run();
}

/** Cron: sends the events isolates left in the outbox, oldest first; returns how many. */
export async function drainChangeEvents(db: D1Database, queue: Queue, now = Date.now()): Promise<number> {
  const { results } = await db
    .prepare("SELECT id, body FROM audit_outbox WHERE created_at < ?1 ORDER BY created_at LIMIT ?2")
    .bind(now - LEFT_AFTER_MS, MAX_PER_SEND)
    .all<{ id: string; body: string }>();
  if (results.length === 0) return 0;
  await queue.sendBatch(results.map((r) => ({ body: JSON.parse(r.body), contentType: "json" as const })));
  await db
    .prepare("DELETE FROM audit_outbox WHERE id IN (SELECT value FROM json_each(?1))")
    .bind(JSON.stringify(results.map((r) => r.id)))
    .run();
  return results.length;
}
