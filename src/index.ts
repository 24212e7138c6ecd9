import { log } from "../common/log";
import { buildApp } from "./app";
import { drainAuditOutbox } from "./audit/producer";

export { CodeClaims } from "./fallback/code-claims";
export { ClientLedger } from "./security/client-ledger";
export { GuessBudget } from "./security/guess-budget";

const app = buildApp();

export default {
  fetch: app.fetch,
  /** Cron: puts audit events whose queue send failed back onto the queue. */
  async scheduled(_controller, env, _ctx) {
    const sent = await drainAuditOutbox(env.AUDIT_QUEUE, env.QR_KV);
    if (sent > 0) log("info", "audit outbox drained", { sent });
  },
} satisfies ExportedHandler<Env>;
