// Test entry: the main Worker plus the audit consumer's queue handler, as both run in production.
import consumer from "../audit-consumer/src/index";
import { RETENTION_CRON } from "../audit-consumer/src/retention";
import main from "../src/index";
import { withFaults } from "./faults";

export { ClientLedger, CodeClaims, GuessBudget } from "../src/index";

export default {
  fetch: main.fetch,
  // Each Worker's crons as Cloudflare would run them: the :15 one is the consumer's; every minute, both.
  scheduled: async (controller, env, ctx) => {
    if (controller.cron !== RETENTION_CRON) await main.scheduled(controller, env, ctx);
    await consumer.scheduled(controller, withFaults(env));
  },
  // The audit queue and its dead-letter queue go to the consumer; the hooks' queues to the main Worker.
  queue: (batch, env) =>
    batch.queue.startsWith("qr-fallback-audit") ? consumer.queue(batch, withFaults(env)) : main.queue(batch, env),
} satisfies ExportedHandler<Env & ConsumerEnv>;
