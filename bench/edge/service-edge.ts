// The service as deployed (src/index.ts), its env under the edge latency model. The Durable Objects
// themselves run unwrapped: calls *to* them are delayed, which is what a request waits for.
// BENCH_EDGE_AUDIT=on-path (a var of this Worker, set by bench/lib/edge.mjs) answers only once the
// request's audit sends are done: how 0.1 answered, for the before/after figure in BENCHMARKS.md.
// Every binding's calls are counted too (bench/edge/counting.ts), the objects' own included: the
// objects below are the service's, with a counting env, their alarms and their SQLite rows counted.
import worker, { CodeClaims as Claims, GuessBudget as Keeper, ClientLedger as Ledger } from "../../src/index";
import { count, countingSql, takeCounts, withCallCounts } from "./counting";
import { withEdgeLatency } from "./latency";

type WithSql = { sql: SqlStorage };

export class CodeClaims extends Claims {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, withCallCounts(env));
    const self = this as unknown as WithSql;
    self.sql = countingSql(self.sql, "CodeClaims");
    // Cloudflare bills each setAlarm() as one row written.
    const storage = countingCalls(ctx.storage, "setAlarm", "rows:CodeClaims");
    (this as unknown as { ctx: DurableObjectState }).ctx = new Proxy(ctx, {
      get: (t, p) => (p === "storage" ? storage : bound(t, Reflect.get(t, p))),
    });
  }
  override async alarm() {
    count("alarm:CodeClaims");
    return super.alarm();
  }
}

export class ClientLedger extends Ledger {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, withCallCounts(env));
    const self = this as unknown as WithSql;
    self.sql = countingSql(self.sql, "ClientLedger");
  }
  override async alarm() {
    count("alarm:ClientLedger");
    return super.alarm();
  }
}

export class GuessBudget extends Keeper {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, withCallCounts(env));
    // Each put of the keeper's state is one row of the object's key-value storage.
    const storage = countingCalls(ctx.storage, "put", "rows:GuessBudget");
    const counted = new Proxy(ctx, {
      get: (t, p) => (p === "storage" ? storage : bound(t, Reflect.get(t, p))),
    });
    (this as unknown as { ctx: DurableObjectState }).ctx = counted;
  }
  override async alarm() {
    count("alarm:GuessBudget");
    return super.alarm();
  }
}

const bound = (target: object, value: unknown) => (typeof value === "function" ? value.bind(target) : value);

/** The storage, each call of `method` counted under `key`. */
function countingCalls(storage: DurableObjectStorage, method: string, key: string): DurableObjectStorage {
  return new Proxy(storage, {
    get(t, p) {
      const value = Reflect.get(t, p);
      if (p !== method || typeof value !== "function") return bound(t, value);
      return (...args: unknown[]) => {
        count(key);
        return Reflect.apply(value, t, args);
      };
    },
  });
}

type EdgeEnv = Env & { BENCH_EDGE_AUDIT?: string };

export default {
  async fetch(request, env, ctx) {
    if (new URL(request.url).pathname === "/__bench/calls") return Response.json(takeCounts());
    const edgeEnv = withEdgeLatency(withCallCounts(env));
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
