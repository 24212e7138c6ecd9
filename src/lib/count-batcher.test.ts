import { afterEach, describe, expect, it, vi } from "vitest";
import { CountBatcher, MAX_DRAIN_MS } from "./count-batcher";

/** A waitUntil that keeps what it is given, so a test can wait for every hand-off. */
function background() {
  const tasks: Promise<unknown>[] = [];
  return { waitUntil: (p: Promise<unknown>) => void tasks.push(p), settled: () => Promise.all(tasks) };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("CountBatcher", () => {
  it("with a linger, what is counted meanwhile goes in one hand-off", async () => {
    const handOffs: Record<string, number>[] = [];
    const batcher = new CountBatcher<number>(
      async (_key, counts) => void handOffs.push(counts),
      () => undefined,
      (linger) => linger,
    );
    const bg = background();
    for (const item of ["a", "b", "a", "a", "b"]) batcher.count("net", item, 30, bg.waitUntil);
    await bg.settled();
    expect(handOffs).toEqual([{ a: 3, b: 2 }]);
  });

  it("without a linger, the first count goes at once and what comes during the call rides on the next", async () => {
    const handOffs: Record<string, number>[] = [];
    let release: () => void = () => undefined;
    const batcher = new CountBatcher<number>(
      (_key, counts) => {
        handOffs.push(counts);
        return handOffs.length === 1 ? new Promise<void>((resolve) => (release = resolve)) : Promise.resolve();
      },
      () => undefined,
    );
    const bg = background();
    batcher.count("net", "a", 0, bg.waitUntil);
    await vi.waitUntil(() => handOffs.length === 1, { timeout: 1000 });
    for (let i = 0; i < 4; i++) batcher.count("net", "b", 0, bg.waitUntil);
    release();
    await bg.settled();
    expect(handOffs).toEqual([{ a: 1 }, { b: 4 }]);
  });

  it("counts of a failed hand-off are kept and go with the next one", async () => {
    const handOffs: Record<string, number>[] = [];
    let failures = 1;
    const errors: unknown[] = [];
    const batcher = new CountBatcher<number>(
      async (_key, counts) => {
        if (failures-- > 0) throw new Error("ledger unreachable");
        handOffs.push(counts);
      },
      (_key, err) => void errors.push(err),
    );
    const bg = background();
    batcher.count("net", "a", 0, bg.waitUntil);
    await bg.settled();
    expect(errors).toHaveLength(1);
    batcher.count("net", "a", 0, bg.waitUntil);
    await bg.settled();
    expect(handOffs).toEqual([{ a: 2 }]);
  });

  it("a drain lets go of its waitUntil after MAX_DRAIN_MS; the next count takes what is left", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const handOffs: Record<string, number>[] = [];
    const bg = background();
    let flooding = true;
    const batcher: CountBatcher<number> = new CountBatcher<number>(
      async (_key, counts) => {
        handOffs.push(counts);
        // A flood: every call takes a second and more is counted meanwhile.
        vi.setSystemTime(Date.now() + 1_000);
        if (flooding) batcher.count("net", "a", 0, bg.waitUntil);
      },
      () => undefined,
    );
    batcher.count("net", "a", 0, bg.waitUntil);
    await bg.settled();
    expect(handOffs).toHaveLength(MAX_DRAIN_MS / 1_000);
    // The count made during the last call is still in memory: the next count's drain takes both.
    flooding = false;
    batcher.count("net", "a", 0, bg.waitUntil);
    await bg.settled();
    expect(handOffs.at(-1)).toEqual({ a: 2 });
    expect(handOffs).toHaveLength(MAX_DRAIN_MS / 1_000 + 1);
  });
});
