import type { Context } from "hono";
import { configOf } from "../config";
import type { AppEnv } from "../http/context";
import { type AuditFields, buildAuditEvent, originOf } from "./producer";
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
