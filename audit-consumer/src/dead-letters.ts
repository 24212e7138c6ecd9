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
  type QueuedAuditEvent,
  queuedAuditEventSchema,
  writeEvents,
} from "../../common/audit-contract";
import { HELD_PREFIX, heldKey } from "../../common/audit-held";
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
    id: crypto.randomUUID(),
    version: 1,
    type: "AUDIT",
    eventName: AuditEventName.AUDIT_DEGRADED,
    message: `${events.length} audit event(s) reached the dead-letter queue; they are kept and replayed into the trail`,
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
    additionalDetails: { extras: { deadLetteredCount: Math.max(1, events.length) } },
    eventTags: eventTagsOf(AuditEventName.AUDIT_DEGRADED, isSuccessful),
  };
}

/**
 * A batch of the dead-letter queue: into the trail if the database answers, else held in R2;
 * acknowledged only once kept one way or the other (else the queue redelivers it).
 */
export async function keepDeadLetters(batch: MessageBatch<unknown>, env: ConsumerEnv, now = Date.now()) {
  const events = batch.messages.flatMap((m) => {
    const parsed = queuedAuditEventSchema.safeParse(m.body);
    return parsed.success ? [parsed.data] : [];
  });
  const degraded = degradedEvent(env, events, now);
  const all = [...events, degraded];
  try {
    await writeEvents(env.AUDIT_DB, all);
    await fanOutToHooks(env, all);
    log("warn", "dead-lettered audit events written into the trail", { count: events.length });
    return batch.ackAll();
  } catch (err) {
    log("error", "the trail refused dead-lettered audit events; holding them in R2", { error: String(err) });
  }
  const held: HeldBatch = { events: all, signalled: [] };
  const key = heldKey(now, batch.messages[0]?.id ?? degraded.id);
  try {
    await env.AUDIT_ARCHIVE.put(key, JSON.stringify(held), { customMetadata: { events: String(all.length) } });
  } catch (err) {
    log("error", "could not hold dead-lettered audit events; the queue redelivers them", { error: String(err) });
    for (const m of batch.messages) m.retry({ delaySeconds: 60 });
    return;
  }
  batch.ackAll();
  // The hooks hear of it now (with its event time: the trail cannot give a logged time yet).
  try {
    await fanOutToHooks(env, [degraded], { loggedAt: "eventTime" });
    held.signalled.push(degraded.id);
    await env.AUDIT_ARCHIVE.put(key, JSON.stringify(held), { customMetadata: { events: String(all.length) } });
  } catch (err) {
    log("error", "could not signal the hooks of dead-lettered audit events", { error: String(err) });
  }
}

/**
 * Cron: writes held batches into the trail, oldest first, and pushes to the hooks the events the trail
 * did not already hold (each event reaches the hooks once). A batch leaves R2 only once written.
 */
export async function replayHeld(env: ConsumerEnv): Promise<{ replayed: number; left: boolean }> {
  const listed = await env.AUDIT_ARCHIVE.list({ prefix: HELD_PREFIX, limit: REPLAY_PER_RUN });
  let replayed = 0;
  for (const object of listed.objects) {
    const body = await env.AUDIT_ARCHIVE.get(object.key);
    if (!body) continue;
    const held = (await body.json()) as HeldBatch;
    const ids = JSON.stringify(held.events.map((e) => e.id));
    const { results } = await env.AUDIT_DB.prepare(
      "SELECT id FROM audit_events WHERE id IN (SELECT value FROM json_each(?1))",
    )
      .bind(ids)
      .all<{ id: string }>();
    const already = new Set([...results.map((r) => r.id), ...held.signalled]);
    await writeEvents(env.AUDIT_DB, held.events);
    await fanOutToHooks(
      env,
      held.events.filter((e) => !already.has(e.id)),
    );
    await env.AUDIT_ARCHIVE.delete(object.key);
    replayed += held.events.length;
  }
  if (replayed > 0) log("info", "held audit events replayed into the trail", { count: replayed });
  return { replayed, left: listed.truncated };
}
