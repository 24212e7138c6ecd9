import type { QueuedAuditEvent } from "../../src/audit/event";

/**
 * A whole batch in one statement: the events go in as one JSON array parameter and SQLite unpacks
 * it (`json_each`), so D1 parses, plans and round-trips once per batch instead of once per event
 * (measured: a third of the consumer's cost per event, BENCHMARKS.md). Each stored body is the
 * event's JSON as sent. `loggedTimeInUTC` is the database's clock at the write, one value for the
 * statement. A redelivered event (same id) is ignored.
 */
const INSERT_EVENTS = `INSERT INTO audit_events
  (id, eventName, rpAppId, eventTimeInUTC, loggedTimeInUTC, isSuccessful, errorCode, body)
  SELECT value ->> 'id', value ->> 'eventName', value ->> 'rpAppId', value ->> 'eventTimeInUTC',
    CAST(unixepoch('subsec') * 1000 AS INTEGER), value ->> 'isSuccessful', value ->> 'errorCode', value
  FROM json_each(?1) WHERE true
  ON CONFLICT (id) DO NOTHING`;

/** Keeps each statement's parameter well under D1's 2 MB value limit, whatever the batch size. */
const MAX_CHUNK_CHARS = 512 * 1024;

/** Splits events into JSON arrays of at most `maxChars` characters (one event per chunk at least). */
export function chunkEvents(events: QueuedAuditEvent[], maxChars = MAX_CHUNK_CHARS): string[] {
  const chunks: string[] = [];
  let current: string[] = [];
  let size = 2;
  for (const event of events) {
    const json = JSON.stringify(event);
    if (current.length > 0 && size + json.length + 1 > maxChars) {
      chunks.push(`[${current.join(",")}]`);
      current = [];
      size = 2;
    }
    current.push(json);
    size += json.length + 1;
  }
  if (current.length > 0) chunks.push(`[${current.join(",")}]`);
  return chunks;
}

/** Writes a batch of events in one D1 transaction (one statement per chunk, usually one). */
export async function writeEvents(db: D1Database, events: QueuedAuditEvent[], maxChunkChars?: number): Promise<void> {
  if (events.length === 0) return;
  const insert = db.prepare(INSERT_EVENTS);
  await db.batch(chunkEvents(events, maxChunkChars).map((chunk) => insert.bind(chunk)));
}

/** Only used by the benchmark, as the baseline the batched writer is compared against. */
export async function writeEventsOneByOne(db: D1Database, events: QueuedAuditEvent[]): Promise<void> {
  const insert = db.prepare(INSERT_EVENTS);
  for (const e of events) await insert.bind(`[${JSON.stringify(e)}]`).run();
}

export async function writeRejects(db: D1Database, rejects: { messageId: string; reason: string }[]): Promise<void> {
  if (rejects.length === 0) return;
  const insert = db.prepare(
    "INSERT INTO audit_rejects (messageId, reason, receivedTimeInUTC) VALUES (?1, ?2, ?3) ON CONFLICT (messageId) DO NOTHING",
  );
  const now = Date.now();
  await db.batch(rejects.map((r) => insert.bind(r.messageId, r.reason.slice(0, 500), now)));
}
