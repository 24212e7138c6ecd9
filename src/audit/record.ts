import type { Context } from "hono";
import { configOf } from "../config";
import type { AppEnv } from "../http/context";
import { type AuditFields, buildAuditEvent, handOffAuditEvent, originOf } from "./producer";

/**
 * Records an audit event for the current request. The hand-off (queue send, or the KV outbox when
 * the send fails or stalls) runs after the answer, in `waitUntil`: the phone waits for no queue.
 * What could be lost is said in docs/audit-events.md ("What can be lost").
 */
export function recordAudit(c: Context<AppEnv>, fields: AuditFields): void {
  const event = buildAuditEvent(configOf(c.env), originOf(c.req.raw, c.get("requestId")), fields);
  const waitUntil = (p: Promise<unknown>) => c.executionCtx.waitUntil(p);
  waitUntil(handOffAuditEvent(c.env.AUDIT_QUEUE, c.env.QR_KV, event, waitUntil));
}
