// The deployed Worker (src/index.ts) as the scale simulation runs it: a request naming a simulated
// isolate (x-sim-isolate) is served with bindings that are new objects for that isolate, so whatever
// the code keeps per isolate (per binding or per env) starts empty there, as in a fresh isolate on
// Cloudflare. One Worker can so stand for many short-lived isolates (sim/README.md). Its Durable
// Object classes count the calls each object receives, for the busiest-object figures.
import { attackCheckObjectName, legacyClaimObjectName } from "../common/claim-shards.js";
import { charsOfRegion, REGIONS } from "../common/regions.js";
import worker, { CodeClaims as ClaimsOfWorker, GuessBudget as KeeperOfWorker } from "../src/index";
import { KEEPER_NAME } from "../src/security/guess-budget";

export { ClientLedger } from "../src/index";

/**
 * RPC calls each claim object and keeper received, by method: the defining Worker runs every
 * instance of its classes, so this one map sees them all (GET /__sim/object-calls on Worker 0).
 */
const objectCalls = new Map<string, Record<string, number>>();
function counted(id: DurableObjectId, method: string): void {
  const key = id.toString();
  const calls = objectCalls.get(key) ?? {};
  calls[method] = (calls[method] ?? 0) + 1;
  objectCalls.set(key, calls);
}

export class CodeClaims extends ClaimsOfWorker {
  override reserve(...a: Parameters<ClaimsOfWorker["reserve"]>) {
    counted(this.ctx.id, "reserve");
    return super.reserve(...a);
  }
  override lookup(...a: Parameters<ClaimsOfWorker["lookup"]>) {
    counted(this.ctx.id, "lookup");
    return super.lookup(...a);
  }
  override attackCheck(...a: Parameters<ClaimsOfWorker["attackCheck"]>) {
    counted(this.ctx.id, "attackCheck");
    return super.attackCheck(...a);
  }
}

export class GuessBudget extends KeeperOfWorker {
  override grant(...a: Parameters<KeeperOfWorker["grant"]>) {
    counted(this.ctx.id, "grant");
    return super.grant(...a);
  }
}

/** The counts of the keeper, and of each claim object by name (every name one can have). */
function objectCallsByName(env: Env) {
  const names = new Map<string, string>();
  const name = (n: string) => names.set(env.CODE_CLAIMS.idFromName(n).toString(), n);
  for (const c of REGIONS.flatMap(charsOfRegion)) {
    name(legacyClaimObjectName(c));
    for (const near of REGIONS) name(attackCheckObjectName(c, near)); // the claim shards among them
  }
  const keeper = env.GUESS_BUDGET.idFromName(KEEPER_NAME).toString();
  return {
    keeper: objectCalls.get(keeper) ?? {},
    claims: Object.fromEntries(
      [...objectCalls].filter(([id]) => id !== keeper).map(([id, calls]) => [names.get(id) ?? id, calls]),
    ),
  };
}

const isolates = new Map<string, Env>();
const MAX_ISOLATES = 64;

function passThrough<T extends object>(target: T): T {
  return new Proxy(target, {
    get(t, p) {
      const value = Reflect.get(t, p);
      return typeof value === "function" ? value.bind(t) : value;
    },
  });
}

function isolateEnv(env: Env, name: string): Env {
  let out = isolates.get(name);
  if (!out) {
    // An isolate that is no longer asked for is gone: its state goes with it.
    if (isolates.size >= MAX_ISOLATES) isolates.delete(isolates.keys().next().value as string);
    const fresh: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(env)) fresh[k] = v && typeof v === "object" ? passThrough(v) : v;
    out = fresh as unknown as Env;
    isolates.set(name, out);
  }
  return out;
}

export default {
  ...worker,
  fetch(request, env, ctx) {
    if (new URL(request.url).pathname === "/__sim/object-calls") return Response.json(objectCallsByName(env));
    const name = request.headers.get("x-sim-isolate");
    return worker.fetch(request, name ? isolateEnv(env, name) : env, ctx);
  },
} satisfies ExportedHandler<Env>;
