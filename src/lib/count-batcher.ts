/**
 * Counts per key (a client network, say), handed off by one call at a time per key. A hand-off first
 * lingers `lingerMs` (the context's) so that what is counted meanwhile rides along, and what is
 * counted while a hand-off is in flight rides on the next one, inside the same `waitUntil`. Under a
 * flood that is one call per key per linger-plus-round-trip instead of one per event. Counts whose
 * hand-off failed are kept for the next one. A drain gives up its `waitUntil` after MAX_DRAIN_MS
 * (the runtime ends a `waitUntil` 30 s after the answer): what is left then goes with the next
 * count of that key, which a flood long enough to reach the bound is bound to bring. Counts still
 * in memory are lost only if the isolate stops. `context` (the request's configuration) travels
 * with the counts: a hand-off uses the latest one.
 */
export class CountBatcher<Context> {
  private readonly pending = new Map<string, Map<string, number>>();
  private readonly inFlight = new Set<string>();
  private context: Context | undefined;

  constructor(
    private readonly handOff: (key: string, counts: Record<string, number>, context: Context) => Promise<void>,
    private readonly onError: (key: string, err: unknown) => void,
    private readonly lingerOf: (context: Context) => number = () => 0,
    private readonly maxKeys = 10_000,
  ) {}

  /** Counts one `item` under `key`; false when too many keys are pending (the count is dropped). */
  count(key: string, item: string, context: Context, waitUntil: (p: Promise<unknown>) => void): boolean {
    this.context = context;
    if (this.pending.size >= this.maxKeys && !this.pending.has(key)) return false;
    const counts = this.pending.get(key) ?? new Map<string, number>();
    counts.set(item, (counts.get(item) ?? 0) + 1);
    this.pending.set(key, counts);
    if (!this.inFlight.has(key)) waitUntil(this.drain(key));
    return true;
  }

  private async drain(key: string): Promise<void> {
    this.inFlight.add(key);
    const started = Date.now();
    try {
      while (Date.now() - started < MAX_DRAIN_MS) {
        const linger = this.lingerOf(this.context as Context);
        if (linger > 0) await new Promise((resolve) => setTimeout(resolve, linger));
        const counts = this.pending.get(key);
        if (!counts) return;
        this.pending.delete(key);
        try {
          await this.handOff(key, Object.fromEntries(counts), this.context as Context);
        } catch (err) {
          const now = this.pending.get(key) ?? new Map<string, number>();
          for (const [item, n] of counts) now.set(item, (now.get(item) ?? 0) + n);
          this.pending.set(key, now);
          this.onError(key, err);
          return;
        }
      }
    } finally {
      this.inFlight.delete(key);
    }
  }
}

/** How long one drain may hold its `waitUntil` (the runtime allows 30 s after the answer). */
export const MAX_DRAIN_MS = 10_000;

/** One batcher per binding (tests wrap bindings; each wrapper gets its own). */
export function batcherPerBinding<Binding extends object, Batcher>(
  make: (binding: Binding) => Batcher,
): (binding: Binding) => Batcher {
  const batchers = new WeakMap<Binding, Batcher>();
  return (binding) => {
    let batcher = batchers.get(binding);
    if (!batcher) {
      batcher = make(binding);
      batchers.set(binding, batcher);
    }
    return batcher;
  };
}
