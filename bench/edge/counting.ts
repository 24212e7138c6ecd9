/**
 * The binding calls a request makes, counted for the cost model (bench/geo/cost.mjs): every binding of
 * an env wrapped to count its calls by kind (`kv:get`, `do:CODE_CLAIMS`, `queue:messages`...), the
 * Durable Objects' own calls and alarms and their SQLite rows written too (bench/edge/service-edge.ts).
 * One isolate runs the Worker and its objects locally, so one table holds them all; the edge model
 * reads and resets it between its phases (GET /__bench/calls).
 */
const counts: Record<string, number> = {};

export function count(key: string, n = 1): void {
  counts[key] = (counts[key] ?? 0) + n;
}

/** The counts since the last take, then reset. */
export function takeCounts(): Record<string, number> {
  const out = { ...counts };
  for (const k of Object.keys(counts)) delete counts[k];
  return out;
}

function counted<T extends object>(target: T, keyOf: (method: string, args: unknown[]) => [string, number] | null): T {
  return new Proxy(target, {
    get(t, prop) {
      const value = Reflect.get(t, prop);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        const key = keyOf(String(prop), args);
        if (key) count(key[0], key[1]);
        // Reflect.apply, not value.apply: on a Durable Object stub every property is a remote call.
        return Reflect.apply(value, t, args);
      };
    },
  });
}

function objects(name: string, ns: DurableObjectNamespace): DurableObjectNamespace {
  return new Proxy(ns, {
    get(t, prop) {
      const value = Reflect.get(t, prop);
      if (prop !== "get" || typeof value !== "function") return typeof value === "function" ? value.bind(t) : value;
      return (id: DurableObjectId) => counted(t.get(id), (m) => (m.startsWith("_") ? null : [`do:${name}`, 1]));
    },
  });
}

const KV_KINDS: Record<string, string> = {
  get: "get",
  getWithMetadata: "get",
  put: "put",
  delete: "delete",
  list: "list",
};

const wrapped = new WeakMap<object, object>();
/** The env with each binding counting its calls; vars pass through. Stable per env, as the runtime's bindings are. */
export function withCallCounts<E extends object>(env: E): E {
  const known = wrapped.get(env);
  if (known) return known as E;
  const out: Record<string, unknown> = {};
  for (const [name, binding] of Object.entries(env)) {
    const b = binding as Record<string, unknown>;
    if (typeof binding !== "object" || binding === null) out[name] = binding;
    else if ("idFromName" in b) out[name] = objects(name, binding as DurableObjectNamespace);
    else if ("limit" in b) out[name] = counted(binding as RateLimit, () => ["ratelimit", 1]);
    else if ("sendBatch" in b)
      out[name] = counted(binding as Queue, (m, args) =>
        m === "send"
          ? ["queue:messages", 1]
          : m === "sendBatch"
            ? ["queue:messages", (args[0] as unknown[]).length]
            : null,
      );
    else if ("getWithMetadata" in b)
      out[name] = counted(binding as KVNamespace, (m) => (KV_KINDS[m] ? [`kv:${KV_KINDS[m]}`, 1] : null));
    else if ("prepare" in b)
      out[name] = counted(binding as D1Database, (m) => (m === "prepare" ? ["d1:statements", 1] : null));
    else out[name] = binding;
  }
  wrapped.set(env, out);
  return out as E;
}

/** A SqlStorage whose statements add the rows they wrote to `rows:<name>`. */
export function countingSql(sql: SqlStorage, name: string): SqlStorage {
  return new Proxy(sql, {
    get(t, prop) {
      const value = Reflect.get(t, prop);
      if (prop !== "exec" || typeof value !== "function") return typeof value === "function" ? value.bind(t) : value;
      return (...args: unknown[]) => {
        const cursor = Reflect.apply(value, t, args) as SqlStorageCursor<Record<string, SqlStorageValue>>;
        // Read once the caller has taken its rows (a RETURNING statement writes as it is read).
        queueMicrotask(() => count(`rows:${name}`, cursor.rowsWritten));
        return cursor;
      };
    },
  });
}
