// The service as deployed (src/index.ts), its env under the edge latency model. The Durable Objects
// themselves run unwrapped: calls *to* them are delayed, which is what a request waits for.
// BENCH_EDGE_AUDIT=on-path (a var of this Worker, set by bench/lib/edge.mjs) answers only once the
// request's audit sends are done: how 0.1 answered, for the before/after figure in BENCHMARKS.md.
import worker from "../../src/index";
import { withEdgeLatency } from "./latency";

export { ClientLedger, CodeClaims, GuessBudget } from "../../src/index";

type EdgeEnv = Env & { BENCH_EDGE_AUDIT?: string };

export default {
  async fetch(request, env, ctx) {
    const edgeEnv = withEdgeLatency(env);
    if (env.BENCH_EDGE_AUDIT !== "on-path") return worker.fetch(request, edgeEnv, ctx);
    // A queue of this request's own (the other bindings stay the isolate's, as the service keys
    // its per-isolate state on them), whose sends the answer waits for.
    const sends: Promise<unknown>[] = [];
    const queue = edgeEnv.AUDIT_QUEUE;
    const tracked = {
      send: (...args: Parameters<Queue["send"]>) => {
        const sent = queue.send(...args);
        sends.push(sent.catch(() => undefined));
        return sent;
      },
      sendBatch: (...args: Parameters<Queue["sendBatch"]>) => queue.sendBatch(...args),
    } as Queue;
    const response = await worker.fetch(request, { ...edgeEnv, AUDIT_QUEUE: tracked }, ctx);
    await Promise.all(sends);
    return response;
  },
} satisfies ExportedHandler<EdgeEnv>;
