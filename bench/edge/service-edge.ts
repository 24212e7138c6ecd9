// The service as deployed (src/index.ts), its env under the edge latency model. The Durable Objects
// themselves run unwrapped: calls *to* them are delayed, which is what a request waits for.
import worker from "../../src/index";
import { withEdgeLatency } from "./latency";

export { ClientLedger, CodeClaims, GuessBudget } from "../../src/index";

export default {
  fetch: (request, env, ctx) => worker.fetch(request, withEdgeLatency(env), ctx),
} satisfies ExportedHandler<Env>;
