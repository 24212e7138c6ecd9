import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import type { FailureBudget } from "../src/security/failure-budget";
import { call, createRegistration, expectErrorShape, lookup, mintToken, waitForTrail } from "./helpers";

// A small budget so the test stays short; the Durable Object takes its settings from the Worker's config.
const lockdownEnv = {
  ...env,
  LOCKDOWN_FAILURE_BUDGET: "40",
  LOCKDOWN_WINDOW_SECONDS: "60",
  LOCKDOWN_COOLDOWN_SECONDS: "2",
} as Env;

type BudgetStub = DurableObjectStub<FailureBudget>;
type RecordArgs = Parameters<BudgetStub["recordFailures"]>;

/** The real FailureBudget namespace, with `recordFailures` of its stubs passed through `wrap`. */
function wrapRecordFailures(
  wrap: (real: (...args: RecordArgs) => Promise<unknown>, ...args: RecordArgs) => Promise<unknown>,
) {
  return new Proxy(env.FAILURE_BUDGET, {
    get(target, prop) {
      if (prop !== "get") return Reflect.get(target, prop).bind(target);
      return (id: DurableObjectId) =>
        new Proxy(target.get(id), {
          get(stub, p) {
            if (p !== "recordFailures") return Reflect.get(stub, p);
            return (...args: RecordArgs) => wrap((...a) => stub.recordFailures(...a), ...args);
          },
        });
    },
  });
}

describe("deployment-wide failure budget (Durable Object)", () => {
  it("a distributed guesser, each address under its own limit, trips the lockdown; it ends after the cooldown", async () => {
    const token = await mintToken("LockApp");
    const statuses: number[] = [];
    let locked: Response | undefined;
    // 100 addresses, one guess each: no per-client limit is ever reached.
    for (let i = 0; i < 100 && !locked; i++) {
      const res = await lookup(`lock${String.fromCharCode(97 + (i % 26))}z`, `10.0.${i}.1`, { env: lockdownEnv });
      statuses.push(res.status);
      if (res.status === 503) locked = res;
    }
    expect(statuses.length).toBe(40); // the 40th failure trips the budget
    expect(new Set(statuses.slice(0, 39))).toEqual(new Set([400]));
    const body = await expectErrorShape(locked as Response, 503, "LOCKDOWN");
    expect(body.error.message).not.toMatch(/lock[a-z]z/);
    expect(Number(locked?.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);

    // While locked: even a valid code from a fresh address is refused, but creating QR codes still works.
    const created = await call("POST", "/rp/versioned/client/qr/create", {
      token,
      body: { includeQRFallbackCode: true },
      env: lockdownEnv,
    });
    expect(created.status).toBe(200);
    const code = ((await created.json()) as { qrFallbackActivationCode: string }).qrFallbackActivationCode;
    await expectErrorShape(await lookup(code, "10.1.0.1", { env: lockdownEnv }), 503, "LOCKDOWN");

    // The trail shows the lockdown start, the refused lookups, and (after the cooldown alarm) the end.
    const rows = await waitForTrail((r) => r.some((e) => e.eventName === "QR_FALLBACK_LOCKDOWN_ENDED"), 15_000);
    const started = rows.find((e) => e.eventName === "QR_FALLBACK_LOCKDOWN_STARTED");
    const ended = rows.find((e) => e.eventName === "QR_FALLBACK_LOCKDOWN_ENDED");
    expect(started?.message).toMatch(/40 failed lookups/);
    expect((ended?.eventTimeInUTC ?? 0) - (started?.eventTimeInUTC ?? 0)).toBeGreaterThanOrEqual(2_000);
    expect(rows.filter((e) => e.errorCode === "LOCKDOWN").length).toBeGreaterThanOrEqual(2);

    // After the cooldown the same code resolves.
    const after = await lookup(code, "10.1.0.2", { env: lockdownEnv });
    expect(after.status).toBe(200);
  });

  it("successful lookups do not count against the budget", async () => {
    const token = await mintToken("LockApp2");
    const quiet = { ...lockdownEnv, LOCKDOWN_FAILURE_BUDGET: "3" } as Env;
    for (let i = 0; i < 6; i++) {
      const { json } = await createRegistration(token);
      expect((await lookup(json.qrFallbackActivationCode, `10.2.${i}.1`, { env: quiet })).status).toBe(200);
    }
  });

  it("carries concurrent failures in fewer Durable Object calls, and counts every one of them", async () => {
    const reports: number[] = [];
    // The real namespace, wrapped to see each report and the failures it carries.
    const countingBudget = wrapRecordFailures((real, settings, count) => {
      reports.push(count);
      return real(settings, count);
    });
    const flood = { ...lockdownEnv, LOCKDOWN_FAILURE_BUDGET: "30", FAILURE_BUDGET: countingBudget } as Env;
    const responses = await Promise.all(
      Array.from({ length: 29 }, (_, i) =>
        lookup(`flood${String.fromCharCode(97 + i)}`, `10.3.${i}.1`, { env: flood }),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(29).fill(400));
    expect(reports.length).toBeLessThan(29);
    // The 30th failure carries whatever the flood left uncounted, and trips the budget of 30.
    await expectErrorShape(await lookup("floodz", "10.3.99.1", { env: flood }), 503, "LOCKDOWN");
    expect(reports.reduce((a, b) => a + b, 0)).toBe(30);
  });

  it("a report lost in flight does not silence the isolate's later failures", async () => {
    let calls = 0;
    // The real namespace, wrapped so that the first report never answers (its request was cancelled).
    const stuckOnce = wrapRecordFailures((real, ...args) => (++calls === 1 ? new Promise(() => {}) : real(...args)));
    const stuckEnv = { ...lockdownEnv, FAILURE_BUDGET: stuckOnce } as Env;
    // The previous test ended in a (2 s) lockdown: wait for lookups to be served again.
    await vi.waitUntil(async () => (await lookup("probe", "10.4.9.9", { env: lockdownEnv })).status === 400, {
      timeout: 10_000,
      interval: 250,
    });
    void lookup("stuckaa", "10.4.0.1", { env: stuckEnv }); // hangs on its report, never awaited
    await vi.waitUntil(() => calls === 1, { timeout: 5_000 });
    // While that report is in flight, later failures only add to the count...
    expect((await lookup("stuckab", "10.4.0.2", { env: stuckEnv })).status).toBe(400);
    expect(calls).toBe(1);
    // ...and once it is presumed lost, the next failure reports again.
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      vi.setSystemTime(Date.now() + 6_000);
      expect((await lookup("stuckac", "10.4.0.3", { env: stuckEnv })).status).toBe(400);
      expect(calls).toBe(2);
    } finally {
      vi.useRealTimers();
    }
  });
});
