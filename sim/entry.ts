// The deployed Worker (src/index.ts) as the scale simulation runs it: a request naming a simulated
// isolate (x-sim-isolate) is served with bindings that are new objects for that isolate, so whatever
// the code keeps per isolate (per binding or per env) starts empty there, as in a fresh isolate on
// Cloudflare. One Worker can so stand for many short-lived isolates (sim/README.md).
import worker from "../src/index";

export { ClientLedger, CodeClaims, GuessBudget } from "../src/index";

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
    const name = request.headers.get("x-sim-isolate");
    return worker.fetch(request, name ? isolateEnv(env, name) : env, ctx);
  },
} satisfies ExportedHandler<Env>;
