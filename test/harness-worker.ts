// Test entry: the main Worker plus the audit consumer's queue handler, as both run in production.
import consumer from "../audit-consumer/src/index";
import main from "../src/index";

export { ClientLedger, CodeClaims, GuessBudget } from "../src/index";

export default {
  fetch: main.fetch,
  // Each Worker's cron, told apart by its schedule as Cloudflare would run them.
  scheduled: (controller, env, ctx) =>
    controller.cron === "15 * * * *" ? consumer.scheduled(controller, env) : main.scheduled(controller, env, ctx),
  // The audit queue goes to the consumer; the hooks queue and its dead-letter queue to the main Worker.
  queue: (batch, env) => (batch.queue === "qr-fallback-audit" ? consumer.queue(batch, env) : main.queue(batch, env)),
} satisfies ExportedHandler<Env & ConsumerEnv>;
