import { type AuditEventName, eventTagsOf, type QueuedAuditEvent } from "../../common/audit-contract";
import { log } from "../../common/log";
import { parseIp } from "../lib/ip";
import { deleteOutbox, getOutbox, listOutbox, outboxKey, putOutbox } from "./outbox";

/** Who asked: taken from the request, already stripped of anything identifying. */
export interface RequestOrigin {
  remoteIP: string | null;
  userAgent: string | null;
  traceId: string;
}

export function originOf(req: Request, traceId: string): RequestOrigin {
  return {
    remoteIP: truncateIp(req.headers.get("cf-connecting-ip")),
    userAgent: req.headers.get("user-agent")?.slice(0, 256) ?? null,
    traceId,
  };
}

export interface AuditFields {
  eventName: AuditEventName;
  message: string;
  subName: string;
  /** null: the event belongs to no RP application; it is filed under the security application. */
  rpAppId: string | null;
  isSuccessful: boolean;
  errorCode: string | null;
  fallbackId?: string;
  /** Refusal summaries: how many, in the minute starting at `windowStartUTC`. */
  refused?: { count: number; windowStartUTC: number; topNetworks?: { network: string; count: number }[] };
  /** Administrators' changes (tokens, settings): who and what, never a secret. */
  change?: Pick<
    QueuedAuditEvent["additionalDetails"]["extras"],
    "actorTokenId" | "tokenId" | "scopes" | "settingsBefore" | "settingsAfter"
  >;
}

/** Where an event goes and whose it is: the deployment's tenant and its security application. */
export interface AuditScope {
  tenantId: string;
  securityAppId: string;
}

export function buildAuditEvent(
  scope: AuditScope,
  origin: RequestOrigin | null,
  fields: AuditFields,
): QueuedAuditEvent {
  return {
    id: crypto.randomUUID(),
    version: 1,
    type: "AUDIT",
    eventName: fields.eventName,
    message: fields.message,
    subName: fields.subName,
    eventLoggedBy: "RELYING_PARTY_SERVER",
    eventTimeInUTC: Date.now(),
    tenantId: scope.tenantId,
    remoteIP: origin?.remoteIP ?? null,
    userAgent: origin?.userAgent ?? null,
    traceId: origin?.traceId ?? null,
    rpAppId: fields.rpAppId ?? scope.securityAppId,
    isSuccessful: fields.isSuccessful,
    errorCode: fields.errorCode,
    errorSeverity: fields.isSuccessful ? null : "WARN",
    deviceId: null,
    machineId: null,
    sessionId: null,
    fidoUser: null,
    machineUserName: null,
    additionalDetails: {
      extras: {
        ...(fields.fallbackId ? { fallbackId: fields.fallbackId } : {}),
        ...(fields.refused
          ? {
              refusedCount: fields.refused.count,
              windowStartUTC: fields.refused.windowStartUTC,
              ...(fields.refused.topNetworks ? { topNetworks: fields.refused.topNetworks } : {}),
            }
          : {}),
        ...fields.change,
      },
    },
    eventTags: eventTagsOf(fields.eventName, fields.isSuccessful),
  };
}

/** A queue send slower than this is presumed stuck: the event goes to the outbox meanwhile. */
export const SEND_TIMEOUT_MS = 5_000;

/** Messages per `sendBatch` (the Queue's limit is 100 messages and 256 KB; an event is a few hundred bytes). */
export const MAX_SEND_BATCH = 100;

const asMessages = (events: QueuedAuditEvent[]) => events.map((body) => ({ body, contentType: "json" as const }));

/** The send, or a rejection after `ms`: one promise and one timer, no race. */
function sendWithin(queue: Queue, events: QueuedAuditEvent[], ms: number): Promise<void> {
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

/** Keeps the network, drops the host: IPv4 to /24, IPv6 to /48. Anything unparsable becomes null. */
export function truncateIp(ip: string | null | undefined): string | null {
  const parsed = parseIp(ip);
  if (!parsed) return null;
  return parsed.v === 4 ? `${parsed.octets.slice(0, 3).join(".")}.0` : `${parsed.groups.slice(0, 3).join(":")}::`;
}
