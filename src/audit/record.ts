import type { Context } from "hono";
import type { QueuedAuditEvent } from "../../common/audit-contract";
import { log } from "../../common/log";
import { configOf } from "../config";
import { sendKeptEvent } from "../controls/change-events";
import type { AppEnv } from "../http/context";
import { type AuditFields, buildAuditEvent, originOf } from "./event";
import { auditSendsOf } from "./send-batcher";

/**
 * Records an audit event for the current request. The hand-off (queue send, or the KV outbox when
 * the send fails or stalls) runs after the answer, in `waitUntil`, batched per isolate
 * (AUDIT_BATCH_MS, send-batcher.ts): the phone waits for no queue. What could be lost is said in
 * docs/audit-events.md ("What can be lost").
 */
export function recordAudit(c: Context<AppEnv>, fields: AuditFields): void {
  const config = configOf(c.env);
  const event = buildAuditEvent(config, originOf(c.req.raw, c.get("requestId")), fields);
  auditSendsOf(c.env.AUDIT_QUEUE).add(event, { kv: c.env.QR_KV, lingerMs: config.auditBatchMs }, (p) =>
    c.executionCtx.waitUntil(p),
  );
}

/** The current request's audit event, built but not sent (a change stores it with itself). */
export function auditEventOf(c: Context<AppEnv>, fields: AuditFields): QueuedAuditEvent {
  return buildAuditEvent(configOf(c.env), originOf(c.req.raw, c.get("requestId")), fields);
}

/**
 * Sends an event a change stored in the control database's outbox, after the answer, and deletes its
 * row; a failed send leaves the row to the minute cron.
 */
export function sendStoredAudit(c: Context<AppEnv>, event: QueuedAuditEvent): void {
  c.executionCtx.waitUntil(
    sendKeptEvent(c.env.CONTROL_DB, c.env.AUDIT_QUEUE, event).catch((err) =>
      log("warn", "audit event left in the control outbox for the cron", { error: String(err) }),
    ),
  );
}
