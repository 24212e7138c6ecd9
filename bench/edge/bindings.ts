/** How to wrap each kind of binding; a kind left out passes through. */
export interface BindingWrappers {
  durableObject?: (name: string, ns: DurableObjectNamespace) => unknown;
  rateLimit?: (binding: RateLimit) => unknown;
  queue?: (binding: Queue) => unknown;
  d1?: (binding: D1Database) => unknown;
  kv?: (binding: KVNamespace) => unknown;
}

/**
 * The env with each binding wrapped by its kind; vars pass through. One wrapped env per env and
 * wrapper set: the runtime hands an isolate the same binding objects on every request, and the
 * service keys its per-isolate state on them, so the wrappers must be as stable.
 */
export function wrapBindings<E extends object>(env: E, wrappers: BindingWrappers, cache: WeakMap<object, object>): E {
  const known = cache.get(env);
  if (known) return known as E;
  const out: Record<string, unknown> = {};
  for (const [name, binding] of Object.entries(env)) {
    const b = binding as Record<string, unknown>;
    const wrap =
      typeof binding !== "object" || binding === null
        ? undefined
        : "idFromName" in b
          ? wrappers.durableObject && ((x: unknown) => wrappers.durableObject?.(name, x as DurableObjectNamespace))
          : "limit" in b
            ? wrappers.rateLimit
            : "sendBatch" in b
              ? wrappers.queue
              : "prepare" in b
                ? wrappers.d1
                : "getWithMetadata" in b
                  ? wrappers.kv
                  : undefined;
    out[name] = wrap ? (wrap as (x: unknown) => unknown)(binding) : binding;
  }
  cache.set(env, out);
  return out as E;
}
