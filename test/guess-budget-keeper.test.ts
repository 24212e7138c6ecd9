import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import type { GuessBudget } from "../src/security/guess-budget";
import {
  call,
  expectErrorShape,
  lookup,
  mintToken,
  refusedCount,
  waitForTrail,
  writeRefusalSummaries,
} from "./helpers";

const settings = (perMinute: number, perDay: number, cooldownSeconds = 300) => ({
  budgets: { normal: { perMinute, perDay }, long: { perMinute: 1e6, perDay: 1e7 } },
  cooldownSeconds,
  scope: { tenantId: "test", securityAppId: "QRFallbackSecurity" },
});

/** The real GuessBudget namespace, with `lease` of its stubs passed through `wrap`. */
function wrapLease(wrap: (real: GuessBudget["lease"], ...args: Parameters<GuessBudget["lease"]>) => Promise<unknown>) {
  const ns = env.GUESS_BUDGET;
  return new Proxy(ns, {
    get(target, prop) {
      if (prop !== "get") return Reflect.get(target, prop).bind(target);
      return (id: DurableObjectId) =>
        new Proxy(target.get(id), {
          get(stub, p) {
            if (p !== "lease") return Reflect.get(stub, p);
            return (...args: Parameters<GuessBudget["lease"]>) => wrap((...a) => stub.lease(...a) as never, ...args);
          },
        });
    },
  });
}

describe("the guess-budget keeper (Durable Object)", () => {
  it("never grants more than the budget, however many leases are asked for at once", async () => {
    const stub = env.GUESS_BUDGET.get(env.GUESS_BUDGET.idFromName("accounting"));
    const leases = await Promise.all(
      Array.from({ length: 200 }, () => stub.lease(settings(300, 10_000), "normal", 16)),
    );
    const granted = leases.reduce((sum, l) => sum + l.granted, 0);
    expect(granted).toBeLessThanOrEqual(300);
    expect(granted).toBeGreaterThanOrEqual(290); // leases shrink as the budget drains, down to single units
    // Asked once more, it has nothing left: attack mode for that class only.
    const last = await stub.lease(settings(300, 10_000), "normal", 16);
    expect(last.granted).toBe(0);
    expect(last.attack.normal).toBeGreaterThan(Date.now());
    expect(last.attack.long).toBe(0);
    expect((await stub.lease(settings(300, 10_000), "long", 16)).granted).toBe(16);
  });

  it("units handed back unused are not spent: only wrong codes drain the budget", async () => {
    const stub = env.GUESS_BUDGET.get(env.GUESS_BUDGET.idFromName("hand-back"));
    const budget = settings(1_000, 10_000);
    let held = 0;
    for (let i = 0; i < 100; i++) held = (await stub.lease(budget, "normal", 16, held)).granted;
    expect(held).toBe(16); // 1,600 units leased in all, 1,584 handed back: no attack mode
    expect((await stub.state()).normal).toBe(0);
  });

  it("an isolate hands back what its lapsed leases did not spend, so legitimate traffic never starts attack mode", async () => {
    const token = await mintToken("LapseApp");
    const tight = { ...env, GUESS_BUDGET_PER_DAY: "20" } as Env;
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      // 30 successful lookups, each after the previous lease lapsed (11 s): 30 leases of a daily budget of 20.
      for (let i = 0; i < 30; i++) {
        vi.setSystemTime(Date.now() + 11_000);
        const created = await call("POST", "/rp/versioned/client/qr/create", {
          token,
          body: { includeQRFallbackCode: true },
          env: tight,
        });
        const { qrFallbackActivationCode: code } = (await created.json()) as { qrFallbackActivationCode: string };
        expect(code).toHaveLength(6);
        expect((await lookup(code, `10.32.${i}.1`, { env: tight, via: "handler" })).status).toBe(200);
      }
    } finally {
      vi.useRealTimers();
    }
  });

  it("while the daily budget is spent, attack mode outlasts its cooldown", async () => {
    const stub = env.GUESS_BUDGET.get(env.GUESS_BUDGET.idFromName("daily"));
    const daily = settings(1_000, 10, 1);
    let granted = 0;
    for (let i = 0; i < 20; i++) granted += (await stub.lease(daily, "normal", 16)).granted;
    expect(granted).toBe(10);
    const { attack } = await stub.lease(daily, "normal", 1);
    expect(attack.normal).toBeGreaterThan(0);
    // Run the alarm once the cooldown is over: the day is still spent, so attack mode goes on.
    await vi.waitUntil(() => Date.now() > attack.normal, { timeout: 5_000, interval: 20 });
    await runInDurableObject(stub, (instance: GuessBudget) => instance.alarm());
    const after = await stub.state();
    expect(after.normal).toBeGreaterThan(Date.now());
  });

  it("fails closed: when the keeper cannot be reached, no code is evaluated", async () => {
    const token = await mintToken("KeeperApp");
    const created = await call("POST", "/rp/versioned/client/qr/create", {
      token,
      body: { includeQRFallbackCode: true },
    });
    const { qrCode, qrFallbackActivationCode: code } = (await created.json()) as {
      qrCode: string;
      qrFallbackActivationCode: string;
    };
    const unreachable = { ...env, GUESS_BUDGET: wrapLease(() => Promise.reject(new Error("network"))) } as Env;
    const refused = await lookup(code, "10.30.0.1", { env: unreachable });
    await expectErrorShape(refused, 503, "GUESS_BUDGET_UNAVAILABLE");
    expect(refused.headers.get("retry-after")).toBe("5");
    // The code was not evaluated, so not consumed: with the keeper back, it is served.
    const served = await lookup(code, "10.30.0.2");
    expect(await served.text()).toBe(JSON.stringify({ qrCode }));
    // The refusal is counted in the network's summary, which names the reason.
    await writeRefusalSummaries("10.30.0.0/24");
    const rows = await waitForTrail((r) => refusedCount(r, "10.30.0.0", "GUESS_BUDGET_UNAVAILABLE") === 1);
    expect(rows.find((e) => e.errorCode === "GUESS_BUDGET_UNAVAILABLE")).toMatchObject({
      rpAppId: "QRFallbackSecurity",
      eventName: "QR_FALLBACK_LOOKUPS_REFUSED",
    });
  });

  it("an isolate's concurrent lookups share leases: far fewer keeper calls than lookups", async () => {
    let calls = 0;
    const counting = {
      ...env,
      GUESS_BUDGET: wrapLease((real, ...a) => {
        calls++;
        return real(...a);
      }),
    } as Env;
    const responses = await Promise.all(
      Array.from({ length: 64 }, (_, i) =>
        lookup(
          `kkkk${String.fromCharCode(97 + (i % 26))}${String.fromCharCode(97 + Math.floor(i / 26))}`,
          `10.31.${i}.1`,
          { env: counting, via: "handler" },
        ),
      ),
    );
    expect(responses.every((r) => r.status === 400)).toBe(true);
    expect(calls).toBeLessThanOrEqual(12);
  });
});
