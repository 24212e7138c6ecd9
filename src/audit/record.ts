import type { Context } from "hono";
import { configOf } from "../config";
import type { AppEnv } from "../http/context";
import { type AuditFields, buildAuditEvent, handOffAuditEvent, originOf } from "./producer";

/** Records an audit event for the current request and waits until it is durably handed off. */
export async function recordAudit(c: Context<AppEnv>, fields: AuditFields): Promise<void> {
  const event = buildAuditEvent(configOf(c.env), originOf(c.req.raw, c.get("requestId")), fields);
  await handOffAuditEvent(c.env.AUDIT_QUEUE, c.env.QR_KV, event, (p) => c.executionCtx.waitUntil(p));
}
