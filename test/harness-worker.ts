// Test entry: the main Worker plus the audit consumer's queue handler, as both run in production.
import consumer from "../audit-consumer/src/index";
import main from "../src/index";

export { ClientLedger, CodeClaims, GuessBudget } from "../src/index";

export default {
  fetch: main.fetch,
  // Each Worker's cron, told apart by its schedule as Cloudflare would run them.
  scheduled: (controller, env, ctx) =>
    controller.cron === "15 * * * *" ? consumer.scheduled(controller, env) : main.scheduled(controller, env, ctx),
  queue: consumer.queue,
} satisfies ExportedHandler<Env & ConsumerEnv>;
