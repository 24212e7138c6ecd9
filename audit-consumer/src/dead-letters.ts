/**
 * The audit dead-letter queue: events the trail's database refused past every retry. Nothing that
 * arrives here is dropped: it goes into the trail when the database answers, else it is held in R2
 * (`held/` keys of the archive bucket) and replayed into the trail by the minute cron once the
 * database answers again. Each arrival is itself a security event, QR_FALLBACK_AUDIT_DEGRADED, pushed
 * to the event hooks at once (they are how a security team hears of it while the trail is down).
 */
import {
  AuditEventName,
  eventTagsOf,
  newEventId,
  type QueuedAuditEvent,
  queuedAuditEventSchema,
  writeEvents,
} from "../../common/audit-contract";
import { HELD_BAD_PREFIX, HELD_PREFIX, heldBacklog, heldKey, putAuditBacklog } from "../../common/audit-held";
import { varOf } from "../../common/config-vars.js";
import { log } from "../../common/log";
import { fanOutToHooks } from "./hook-fanout";

/** Held batches replayed per cron run (each one D1 batch and one hook fan-out). */
const REPLAY_PER_RUN = 50;

/** What a held object holds: the events, and those already pushed to the hooks (not pushed again). */
interface HeldBatch {
  events: QueuedAuditEvent[];
  signalled: string[];
}

/** The audit queue's dead-letter queue, in every environment: `qr-fallback-audit-dlq[-<env>]`. */
export const isAuditDeadLetterQueue = (queue: string) => /^qr-fallback-audit-dlq(-[a-z0-9-]+)?$/.test(queue);

function degradedEvent(env: ConsumerEnv, events: QueuedAuditEvent[], now: number): QueuedAuditEvent {
  const isSuccessful = false;
  return {
    id: newEventId(now),
    version: 1,
    type: "AUDIT",
    eventName: AuditEventName.AUDIT_DEGRADED,
    message: `${events.length} audit event(s) reached the dead-letter queue (the trail or the hooks refused them past every retry); they are kept and replayed`,
    subName: "AUDIT",
    eventLoggedBy: "RELYING_PARTY_SERVER",
    eventTimeInUTC: now,
    // Every event of a deployment carries its tenant.
    tenantId: events[0]?.tenantId ?? varOf(env, "TENANT_ID"),
    remoteIP: null,
    userAgent: null,
    traceId: null,
    rpAppId: varOf(env, "QR_FALLBACK_SECURITY_APP"),
    isSuccessful,
    errorCode: "AUDIT_DEAD_LETTERED",
    errorSeverity: "HIGH",
    deviceId: null,
    machineId: null,
    sessionId: null,
    fidoUser: null,
    machineUserName: null,
    additionalDetails: { extras: { deadLetteredCount: events.length } },
    eventTags: eventTagsOf(AuditEventName.AUDIT_DEGRADED, isSuccessful),
  };
}

/** A held object as written by keepDeadLetters, checked: anything else is moved aside, never replayed. */
function parseHeld(raw: unknown): HeldBatch | null {
  if (!raw || typeof raw !== "object") return null;
  const { events, signalled } = raw as { events?: unknown; signalled?: unknown };
  if (!Array.isArray(events) || !Array.isArray(signalled) || !signalled.every((id) => typeof id === "string")) {
    return null;
  }
  const parsed = events.map((e) => queuedAuditEventSchema.safeParse(e));
  if (!parsed.every((p) => p.success)) return null;
  return { events: parsed.map((p) => p.data as QueuedAuditEvent), signalled };
}

/**
 * A batch of the dead-letter queue: into the trail and to the hooks if both take it, else held in
 * R2; acknowledged only once kept one way or the other (else the queue redelivers it). What reached
 * the hooks is recorded, never inferred from the trail (an event in the trail may still be owed to them).
 */
export async function keepDeadLetters(batch: MessageBatch<unknown>, env: ConsumerEnv, now = Date.now()) {
  const events = batch.messages.flatMap((m) => {
    const parsed = queuedAuditEventSchema.safeParse(m.body);
    return parsed.success ? [parsed.data] : [];
  });
  if (events.length < batch.messages.length) {
    log("warn", "malformed audit messages in the dead-letter queue dropped", {
      count: batch.messages.length - events.length,
    });
  }
  if (events.length === 0) return batch.ackAll();
  const degraded = degradedEvent(env, events, now);
  const all = [...events, degraded];
  try {
    await writeEvents(env.AUDIT_DB, all);
    await fanOutToHooks(env, all);
    log("warn", "dead-lettered audit events written into the trail", { count: events.length });
    return batch.ackAll();
  } catch (err) {
    log("error", "the trail or the hooks refused dead-lettered audit events; holding them in R2", {
      error: String(err),
    });
  }
  // The hooks hear of it now (with its event time: the trail may not give a logged time yet), then
  // one write of the held batch records whether they did.
  const signalled: string[] = [];
  try {
    await fanOutToHooks(env, [degraded], { loggedAt: "eventTime" });
    signalled.push(degraded.id);
  } catch (err) {
    log("error", "could not signal the hooks of dead-lettered audit events", { error: String(err) });
  }
  const held: HeldBatch = { events: all, signalled };
  try {
    await env.AUDIT_ARCHIVE.put(heldKey(now, batch.messages[0]?.id ?? degraded.id), JSON.stringify(held), {
      customMetadata: { events: String(all.length) },
    });
  } catch (err) {
    log("error", "could not hold dead-lettered audit events; the queue redelivers them", { error: String(err) });
    for (const m of batch.messages) m.retry({ delaySeconds: 60 });
    return;
  }
  batch.ackAll();
  await publishBacklog(env);
}

/**
 * Minute cron: writes held batches into the trail, oldest first, and pushes to the hooks every event
 * not recorded as pushed; a batch leaves R2 only once both are done (a failed push is pushed again:
 * the hooks get each event at least once, with the same webhook-id). A malformed object is moved to
 * `held-bad/` for an operator; one batch failing does not hold up the others.
 */
export async function replayHeld(env: ConsumerEnv): Promise<{ replayed: number; left: boolean }> {
  const listed = await env.AUDIT_ARCHIVE.list({ prefix: HELD_PREFIX, limit: REPLAY_PER_RUN });
  let replayed = 0;
  for (const object of listed.objects) {
    try {
      const body = await env.AUDIT_ARCHIVE.get(object.key);
      if (!body) continue;
      const text = await body.text();
      const held = parseHeld(JSON.parse(text));
      if (!held) {
        log("error", "a held audit object is malformed; moved aside, not replayed", { key: object.key });
        await env.AUDIT_ARCHIVE.put(object.key.replace(HELD_PREFIX, HELD_BAD_PREFIX), text);
        await env.AUDIT_ARCHIVE.delete(object.key);
        continue;
      }
      await writeEvents(env.AUDIT_DB, held.events);
      const signalled = new Set(held.signalled);
      await fanOutToHooks(
        env,
        held.events.filter((e) => !signalled.has(e.id)),
      );
      await env.AUDIT_ARCHIVE.delete(object.key);
      replayed += held.events.length;
    } catch (err) {
      log("error", "a held audit batch could not be replayed yet", { key: object.key, error: String(err) });
    }
  }
  if (replayed > 0) log("info", "held audit events replayed into the trail", { count: replayed });
  await publishBacklog(env);
  return { replayed, left: listed.truncated };
}

/** The held backlog, counted here and published in KV for GET /cc/api/qrfallback/status. */
async function publishBacklog(env: ConsumerEnv): Promise<void> {
  try {
    await putAuditBacklog(env.QR_KV, await heldBacklog(env.AUDIT_ARCHIVE));
  } catch (err) {
    log("warn", "could not publish the held audit backlog", { error: String(err) });
  }
}
