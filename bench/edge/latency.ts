/**
 * The edge latency model: every binding of a Worker's env wrapped to add the latency it has on
 * Cloudflare's network (figures and sources in BENCHMARKS.md, "Edge latency model"). Local workerd
 * answers every binding in microseconds; this puts the network back so the bench can see what a
 * phone waits for. The figures are medians, applied as fixed delays.
 */
import { wrapBindings } from "./bindings";
export const EDGE_LATENCY_MS = {
  queueSend: 60,
  durableObject: 80,
  kvHot: 1,
  kvCold: 30,
  kvWrite: 30,
  rateLimit: 1,
  d1: 30,
} as const;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function delayed<T extends object>(target: T, delayOf: (method: string, args: unknown[]) => number | null): T {
  return new Proxy(target, {
    get(t, prop) {
      const value = Reflect.get(t, prop);
      if (typeof value !== "function") return value;
      return async (...args: unknown[]) => {
        const ms = delayOf(String(prop), args);
        if (ms) await sleep(ms);
        // Reflect.apply, not value.apply: on a Durable Object stub every property is a remote call.
        return Reflect.apply(value, t, args);
      };
    },
  });
}

/** KV reads are hot after the first read of a key in this isolate (Cloudflare caches at the edge). */
const readKeys = new Set<string>();
function kv(ns: KVNamespace): KVNamespace {
  return delayed(ns, (method, args) => {
    if (method === "get" || method === "getWithMetadata") {
      const key = String(args[0]);
      const hot = readKeys.has(key);
      readKeys.add(key);
      return hot ? EDGE_LATENCY_MS.kvHot : EDGE_LATENCY_MS.kvCold;
    }
    return method === "put" || method === "delete" || method === "list" ? EDGE_LATENCY_MS.kvWrite : null;
  });
}

function durableObjects(ns: DurableObjectNamespace): DurableObjectNamespace {
  return new Proxy(ns, {
    get(t, prop) {
      const value = Reflect.get(t, prop);
      if (prop !== "get" || typeof value !== "function") return typeof value === "function" ? value.bind(t) : value;
      return (id: DurableObjectId) =>
        delayed(t.get(id), (method) =>
          method === "fetch" || !method.startsWith("_") ? EDGE_LATENCY_MS.durableObject : null,
        );
    },
  });
}

function d1(db: D1Database): D1Database {
  return new Proxy(db, {
    get(t, prop) {
      const value = Reflect.get(t, prop);
      if (prop === "batch") {
        return async (...args: unknown[]) => {
          await sleep(EDGE_LATENCY_MS.d1);
          return Reflect.apply(value, t, args);
        };
      }
      if (prop !== "prepare") return typeof value === "function" ? value.bind(t) : value;
      return (sql: string) => {
        const statement = t.prepare(sql);
        const wrap = (s: D1PreparedStatement): D1PreparedStatement =>
          new Proxy(s, {
            get(st, p) {
              const v = Reflect.get(st, p);
              if (p === "bind") return (...a: unknown[]) => wrap(Reflect.apply(v, st, a));
              if (p === "first" || p === "all" || p === "run" || p === "raw") {
                return async (...a: unknown[]) => {
                  await sleep(EDGE_LATENCY_MS.d1);
                  return Reflect.apply(v, st, a);
                };
              }
              return typeof v === "function" ? v.bind(st) : v;
            },
          });
        return wrap(statement);
      };
    },
  });
}

const wrapped = new WeakMap<object, object>();
/** The env with each binding delayed by its kind; vars pass through (stable per env: bindings.ts). */
export function withEdgeLatency<E extends object>(env: E): E {
  return wrapBindings(
    env,
    {
      durableObject: (_name, ns) => durableObjects(ns),
      rateLimit: (binding) => delayed(binding, () => EDGE_LATENCY_MS.rateLimit),
      queue: (binding) => delayed(binding, () => EDGE_LATENCY_MS.queueSend),
      d1: (binding) => d1(binding),
      kv: (binding) => kv(binding),
    },
    wrapped,
  );
}
