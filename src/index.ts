import { log } from "../common/log";
import { buildApp } from "./app";
import { drainAuditOutbox } from "./audit/hand-off";
import { configOf } from "./config";
import { drainChangeEvents } from "./controls/change-events";
import { deliverHookBatch, type HookDelivery, isHookDeadLetterQueue, recordDeadLetters } from "./hooks/deliver";

export { CodeClaims } from "./fallback/code-claims";
export { ClientLedger } from "./security/client-ledger";
export { GuessBudget } from "./security/guess-budget";

const app = buildApp();

export default {
  fetch: app.fetch,
  /** Event-hook deliveries, and the hooks' dead-letter queue. */
  async queue(batch, env) {
    const config = configOf(env);
    if (isHookDeadLetterQueue(batch.queue)) return recordDeadLetters(batch as MessageBatch<HookDelivery>, env.QR_KV);
    await deliverHookBatch(
      batch as MessageBatch<HookDelivery>,
      env.QR_KV,
      config.serverSecret,
      config.eventHooks.retryBaseSeconds,
    );
  },
  /** Cron: puts audit events whose queue send failed, or that an isolate left, back onto the queue. */
  async scheduled(_controller, env, _ctx) {
    // Two outboxes, two stores: one failing does not hold up the other.
    const [outbox, changes] = await Promise.allSettled([
      drainAuditOutbox(env.AUDIT_QUEUE, env.QR_KV),
      drainChangeEvents(env.CONTROL_DB, env.AUDIT_QUEUE),
    ]);
    for (const [what, result] of [
      ["audit outbox", outbox],
      ["control outbox", changes],
    ] as const) {
      if (result.status === "rejected") log("error", `${what} not drained`, { error: String(result.reason) });
      else if (result.value > 0) log("info", `${what} drained`, { sent: result.value });
    }
  },
} satisfies ExportedHandler<Env>;
