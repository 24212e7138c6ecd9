/**
 * A test double of Workers KV's eventual consistency, wrapping the real local KV (the origin).
 * Each simulated location keeps its own cache: a key read there is served from that cache, value or
 * miss, for `staleMs` (Cloudflare: up to 60 s), whatever other locations have written or deleted
 * since. A location sees its own writes and deletes at once. Everything else passes through.
 */
export class EdgeKv {
  constructor(
    private readonly origin: KVNamespace,
    private readonly staleMs = 60_000,
  ) {}

  location(): KVNamespace {
    const cache = new Map<string, { value: ArrayBuffer | null; at: number }>();
    const origin = this.origin;
    const staleMs = this.staleMs;
    const read = async (key: string): Promise<ArrayBuffer | null> => {
      const hit = cache.get(key);
      if (hit && Date.now() - hit.at < staleMs) return hit.value;
      const value = await origin.get(key, "arrayBuffer");
      cache.set(key, { value, at: Date.now() });
      return value;
    };
    const local = {
      async get(key: string, type?: unknown) {
        const kind = typeof type === "object" && type !== null ? (type as { type?: string }).type : type;
        const value = await read(key);
        if (value === null) return null;
        if (kind === "arrayBuffer") return value;
        const text = new TextDecoder().decode(value);
        return kind === "json" ? JSON.parse(text) : text;
      },
      async put(key: string, value: string | ArrayBuffer, options?: KVNamespacePutOptions) {
        await origin.put(key, value, options);
        const bytes = typeof value === "string" ? new TextEncoder().encode(value).buffer : value;
        cache.set(key, { value: bytes as ArrayBuffer, at: Date.now() });
      },
      async delete(key: string) {
        await origin.delete(key);
        cache.set(key, { value: null, at: Date.now() });
      },
    };
    return new Proxy(origin, {
      get: (target, prop) =>
        prop in local ? local[prop as keyof typeof local] : Reflect.get(target, prop).bind(target),
    }) as KVNamespace;
  }
}
