import type { QueuedAuditEvent } from "../../src/audit/event";

/**
 * One statement per event, all sent as one D1 batch (one transaction, one round trip).
 * `loggedTimeInUTC` is the database's clock at the write, inside that transaction.
 */
const INSERT_EVENT = `INSERT INTO audit_events
  (id, eventName, rpAppId, eventTimeInUTC, loggedTimeInUTC, isSuccessful, errorCode, body)
  VALUES (?1, ?2, ?3, ?4, CAST(unixepoch('subsec') * 1000 AS INTEGER), ?5, ?6, ?7)
  ON CONFLICT (id) DO NOTHING`;

export async function writeEvents(db: D1Database, events: QueuedAuditEvent[]): Promise<void> {
  if (events.length === 0) return;
  const insert = db.prepare(INSERT_EVENT);
  await db.batch(
    events.map((e) =>
      insert.bind(
        e.id,
        e.eventName,
        e.rpAppId,
        e.eventTimeInUTC,
        e.isSuccessful ? 1 : 0,
        e.errorCode,
        JSON.stringify(e),
      ),
    ),
  );
}

/** Only used by the benchmark, as the baseline the batched writer is compared against. */
export async function writeEventsOneByOne(db: D1Database, events: QueuedAuditEvent[]): Promise<void> {
  const insert = db.prepare(INSERT_EVENT);
  for (const e of events) {
    await insert
      .bind(e.id, e.eventName, e.rpAppId, e.eventTimeInUTC, e.isSuccessful ? 1 : 0, e.errorCode, JSON.stringify(e))
      .run();
  }
}

export async function writeRejects(db: D1Database, rejects: { messageId: string; reason: string }[]): Promise<void> {
  if (rejects.length === 0) return;
  const insert = db.prepare(
    "INSERT INTO audit_rejects (messageId, reason, receivedTimeInUTC) VALUES (?1, ?2, ?3) ON CONFLICT (messageId) DO NOTHING",
  );
  const now = Date.now();
  await db.batch(rejects.map((r) => insert.bind(r.messageId, r.reason.slice(0, 500), now)));
}
