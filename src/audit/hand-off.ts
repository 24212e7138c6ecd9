// The hand-off of audit events to the queue: one timed `sendBatch`, the KV outbox when it fails or
// stalls, and the cron drain of that outbox (docs/audit-events.md, "What can be lost").
import type { QueuedAuditEvent } from "../../common/audit-contract";
import { log } from "../../common/log";
import { deleteOutbox, getOutbox, listOutbox, outboxKey, putOutbox } from "./outbox";

/** A queue send slower than this is presumed stuck: the event goes to the outbox meanwhile. */
export const SEND_TIMEOUT_MS = 5_000;

/** Messages per `sendBatch` (the Queue's limit is 100 messages and 256 KB; an event is a few hundred bytes). */
export const MAX_SEND_BATCH = 100;

const asMessages = (events: QueuedAuditEvent[]) => events.map((body) => ({ body, contentType: "json" as const }));

/** The send, or a rejection after `ms` (a stalled send counts as refused): one promise and one timer, no race. */
export function sendWithin(queue: Queue, events: QueuedAuditEvent[], ms: number): Promise<void> {
  let sent: Promise<unknown>;
  try {
    sent = queue.sendBatch(asMessages(events));
  } catch (err) {
    return Promise.reject(err); // a send that throws at once sets no timer
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`queue send took over ${ms} ms`)), ms);
    sent.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      (err) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

/**
 * Hands events off durably (at most MAX_SEND_BATCH): one `sendBatch`; if it fails or takes longer
 * than SEND_TIMEOUT_MS, each event is written to the KV outbox and one more send is tried in the
 * background (the cron drain takes it from there). A send that was only slow may land as well: the
 * consumer stores an event id once. Requests' events get here through the isolate's batcher
 * (send-batcher.ts), after the answer; the keepers' one at a time.
 */
export async function handOffAuditEvents(
  queue: Queue,
  kv: KVNamespace,
  events: QueuedAuditEvent[],
  waitUntil: (p: Promise<unknown>) => void,
): Promise<void> {
  try {
    await sendWithin(queue, events, SEND_TIMEOUT_MS);
    return;
  } catch (err) {
    log("warn", "audit queue send failed; using outbox", {
      requestIds: events.map((e) => e.traceId),
      events: events.length,
      error: String(err),
    });
  }
  const stored = await Promise.all(
    events.map(async (event) => {
      try {
        await putOutbox(kv, event);
        return event;
      } catch (err) {
        // Last resort: the event (PII-free by construction) goes to the Worker logs.
        log("error", "audit event could not be queued nor stored", {
          requestId: event.traceId,
          event,
          error: String(err),
        });
        return null;
      }
    }),
  );
  const inOutbox = stored.filter((e): e is QueuedAuditEvent => e !== null);
  if (inOutbox.length === 0) return;
  waitUntil(
    queue.sendBatch(asMessages(inOutbox)).then(
      () => Promise.all(inOutbox.map((e) => deleteOutbox(kv, outboxKey(e)))),
      () => undefined, // the cron drain takes it from here
    ),
  );
}

/** Cron: moves outbox entries back onto the queue, oldest first; returns how many were sent. */
export async function drainAuditOutbox(queue: Queue, kv: KVNamespace, maxEvents = 500): Promise<number> {
  let sent = 0;
  while (sent < maxEvents) {
    const keys = await listOutbox(kv, MAX_SEND_BATCH);
    if (keys.length === 0) break;
    const entries = (await Promise.all(keys.map(async (key) => ({ key, event: await getOutbox(kv, key) })))).filter(
      (e): e is { key: string; event: QueuedAuditEvent } => e.event !== null,
    );
    if (entries.length === 0) break;
    await queue.sendBatch(asMessages(entries.map((e) => e.event)));
    await Promise.all(entries.map((e) => deleteOutbox(kv, e.key)));
    sent += entries.length;
  }
  return sent;
}
