// Test entry: the main Worker plus the audit consumer's queue handler, as both run in production.
import consumer from "../audit-consumer/src/index";
import main from "../src/index";

export { ClientLedger, CodeClaims, GuessBudget } from "../src/index";

export default {
  fetch: main.fetch,
  scheduled: main.scheduled,
  queue: consumer.queue,
} satisfies ExportedHandler<Env & ConsumerEnv>;
