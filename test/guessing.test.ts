import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { attackCheckObjectName, claimObjectName } from "../common/claim-shards.js";
import { charsOfRegion } from "../common/regions.js";
import { configOf } from "../src/config";
import { indexIdOf, pendingKeys } from "../src/fallback/payload-crypto";
import { budgetSettings, GuessBudget, UNITS_LEASE_MS } from "../src/security/guess-budget";
import { ATTACK_RECHECK_SPREAD_MS, GuessGate } from "../src/security/guess-gate";
import {
  asIsolate,
  call,
  deployment,
  expectErrorShape,
  keeperOf,
  loggedDeployment,
  lookup,
  mintToken,
  passThrough,
} from "./helpers";

/** A wrong well-formed code of the normal length, different for every `i`. */
function wrongCode(i: number): string {
  let code = "";
  for (let n = i + 1; code.length < 6; n = Math.floor(n / 26)) code += String.fromCharCode(97 + (n % 26));
  return code;
}

/** `n` wrong codes that one claim shard evaluates (the same first character of their index id). */
async function wrongCodesOfOneShard(n: number, from = 0, shard = "A"): Promise<string[]> {
  const keys = await pendingKeys(configOf(env).serverSecret);
  const codes: string[] = [];
  for (let i = from; codes.length < n; i++) {
    const code = wrongCode(i);
    if ((await indexIdOf(keys, code)).startsWith(shard)) codes.push(code);
  }
  return codes;
}

async function createCode(token: string, on: Env): Promise<string> {
  const res = await call("POST", "/rp/versioned/client/qr/create", {
    token,
    body: { includeQRFallbackCode: true },
    env: on,
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { qrFallbackActivationCode: string }).qrFallbackActivationCode;
}

const attackUntil = async (name: string) => (await keeperOf(name).attackState()).normal;

afterEach(() => {
  vi.useRealTimers();
});

describe("the guess budget at any isolate count", () => {
  it("legitimate traffic spread over 200 isolates (correct codes and a few typos) never starts attack mode", async () => {
    const deployed = deployment("legit-200");
    const token = await mintToken("ManyIsolatesApp");
    const statuses: number[] = [];
    // Each isolate creates a code and its phone looks it up; every 25th user mistypes it first.
    for (let batch = 0; batch < 10; batch++) {
      statuses.push(
        ...(await Promise.all(
          Array.from({ length: 20 }, async (_, k) => {
            const i = batch * 20 + k;
            const isolate = asIsolate(deployed);
            const code = await createCode(token, isolate);
            if (i % 25 === 0) expect((await lookup(wrongCode(i), `10.40.${i}.1`, { env: isolate })).status).toBe(400);
            return (await lookup(code, `10.41.${i}.1`, { env: isolate })).status;
          }),
        )),
      );
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(200);
    expect(await attackUntil("legit-200")).toBe(0);
  }, 60_000);

  it("a 1,500-guess burst over 100 isolates evaluates at most the minute budget; codes issued then are long and served", async () => {
    const deployed = deployment("burst");
    const budget = configOf(deployed).guessing.budget.perMinute;
    const token = await mintToken("BurstApp");
    const before = await createCode(token, deployed);
    expect(before).toHaveLength(6);
    const isolates = Array.from({ length: 100 }, () => asIsolate(deployed));
    // 300 addresses in 300 networks, 5 guesses each: no per-client or per-network limit is reached.
    const responses = await Promise.all(
      Array.from({ length: 1500 }, (_, i) =>
        lookup(wrongCode(i), `10.${Math.floor(i / 5 / 250)}.${Math.floor(i / 5) % 250}.1`, { env: isolates[i % 100] }),
      ),
    );
    const statuses = responses.map((r) => r.status);
    const evaluated = statuses.filter((s) => s === 400).length;
    expect(statuses.filter((s) => s === 503).length).toBe(1500 - evaluated);
    expect(evaluated).toBeLessThanOrEqual(budget); // the bound is exact: spent + held ≤ the budget
    expect(evaluated).toBeGreaterThan(budget / 2); // and the budget is used, not held idle
    const refusal = await expectErrorShape(responses[statuses.indexOf(503)], 503, "ATTACK_MODE");
    expect(refusal.error.message).toMatch(/ask the workstation for a new code/);
    expect(Number(responses[statuses.indexOf(503)].headers.get("retry-after"))).toBeGreaterThan(0);

    // A real code of the normal length issued before is refused like any other...
    await expectErrorShape(await lookup(before, "172.16.0.1", { env: deployed }), 503, "ATTACK_MODE");
    // ...and a code created now, in any isolate, is long and served.
    for (const isolate of isolates.slice(0, 5)) {
      const code = await createCode(token, isolate);
      expect(code).toMatch(/^[a-z]{10}$/);
      expect((await lookup(code, "172.16.1.1", { env: isolate })).status).toBe(200);
    }
    expect(await attackUntil("burst")).toBeGreaterThan(Date.now());
  }, 120_000); // 1,500 lookups: about 20 s alone, three times that beside the suite's other files

  it("the keeper's minute survives an eviction: a fresh instance grants only what is left", async () => {
    const deployed = deployment("evict", { GUESS_BUDGET_PER_MINUTE: "10" });
    for (const [i, code] of (await wrongCodesOfOneShard(6)).entries()) {
      expect((await lookup(code, `10.50.${i}.1`, { env: deployed })).status).toBe(400);
    }
    // The shard reports its last spend right after answering.
    await vi.waitUntil(async () => (await keeperOf("evict").usage()).spentLastMinute === 6);
    const usage = await runInDurableObject(keeperOf("evict"), async (_instance, state) => {
      // A new instance over the same storage: what a restart or an eviction leaves.
      const fresh = new GuessBudget(state, env);
      await state.blockConcurrencyWhile(async () => {});
      return fresh.usage();
    });
    expect(usage).toEqual({ spentLastMinute: 6, spentLastDay: 6, held: 2, pressureLastMinute: 6 });
  });

  it("a spend is remembered for a whole minute, whatever the millisecond it was reported at", async () => {
    const deployed = deployment("minute-edge", { GUESS_BUDGET_PER_MINUTE: "10" });
    const codes = await wrongCodesOfOneShard(11, 10_000);
    vi.useFakeTimers({ toFake: ["Date"] });
    const s = Math.ceil(Date.now() / 1000) * 1000;
    vi.setSystemTime(s + 999);
    for (const [i, code] of codes.slice(0, 10).entries()) {
      expect((await lookup(code, `10.71.${i}.1`, { env: deployed })).status).toBe(400);
    }
    vi.setSystemTime(s + 60_000); // 59.001 s later: still inside the minute of those ten
    await expectErrorShape(await lookup(codes[10], "10.71.20.1", { env: deployed }), 503, "ATTACK_MODE");
  }, 120_000); // 11 lookups each waiting for its audit hand-off, slow when the whole suite runs

  it("fails closed: a shard that cannot reach the keeper evaluates nothing", async () => {
    const stub = env.CODE_CLAIMS.get(env.CODE_CLAIMS.idFromName("fail-closed|claims:a"));
    const admission = await runInDurableObject(stub, async (_instance, state) => {
      const broken = new Proxy(env.GUESS_BUDGET.get(env.GUESS_BUDGET.idFromName("fail-closed|global")), {
        get: (t, p) => (p === "grant" ? () => Promise.reject(new Error("keeper unreachable")) : Reflect.get(t, p)),
      });
      const gate = new GuessGate(state.storage.sql, "claims:a", () => broken);
      return gate.admit({
        keeper: "x",
        budget: { perMinute: 300, perDay: 5000 },
        minAttackSeconds: 60,
        scope: { tenantId: "t", securityAppId: "s" },
      });
    });
    expect(admission).toEqual({ admitted: false });
  });
});

describe("attack mode costs the attacker the budget's rate", () => {
  /** Spends a budget of 10 wrong codes a minute at `t0`, in one shard: the eleventh starts attack mode. */
  async function startAttack(name: string) {
    const log = loggedDeployment(name, { GUESS_BUDGET_PER_MINUTE: "10" });
    const { deployed } = log;
    const codes = await wrongCodesOfOneShard(11);
    vi.useFakeTimers({ toFake: ["Date"] });
    const t0 = Date.now();
    for (const [i, code] of codes.slice(0, 10).entries()) {
      expect((await lookup(code, `10.60.${i}.1`, { env: deployed })).status).toBe(400);
    }
    await expectErrorShape(await lookup(codes[10], "10.61.0.1", { env: deployed }), 503, "ATTACK_MODE");
    expect(await attackUntil(name)).toBe(t0 + 60_000);
    return { ...log, t0 };
  }

  /** Runs the keeper's checks every second from `from` until attack mode ends; returns when it did. */
  async function endOf(name: string, from: number, deployed: Env): Promise<number> {
    for (let t = from; t < from + 600_000; t += 1_000) {
      vi.setSystemTime(t);
      await runDurableObjectAlarm(keeperOf(name));
      if ((await attackUntil(name)) === 0) {
        // And the objects agree once they re-ask (within the spread): a normal-length code is evaluated again.
        vi.setSystemTime(t + ATTACK_RECHECK_SPREAD_MS);
        expect((await lookup(wrongCode(500), "10.62.0.1", { env: deployed })).status).toBe(400);
        return t;
      }
    }
    throw new Error("attack mode never ended");
  }

  it("stays on past its announced end until the keeper's check ends it (a late alarm opens no window)", async () => {
    const { deployed, t0 } = await startAttack("late-alarm");
    vi.setSystemTime(t0 + 60_001); // the check is due but has not run
    const [next] = await wrongCodesOfOneShard(1, 8_000);
    await expectErrorShape(await lookup(next, "10.68.0.1", { env: deployed }), 503, "ATTACK_MODE");
  });

  it("while an isolate knows it is on, a refused lookup reads nothing from KV, live code or not", async () => {
    const { deployed } = await startAttack("no-kv-read");
    let reads = 0;
    const counting = {
      ...deployed,
      QR_KV: new Proxy(deployed.QR_KV, {
        get(t, p) {
          if (p === "get") reads++;
          const value = Reflect.get(t, p);
          return typeof value === "function" ? value.bind(t) : value;
        },
      }),
    } as Env;
    const [a, b] = await wrongCodesOfOneShard(2, 9_000);
    await expectErrorShape(await lookup(a, "10.69.0.1", { env: counting }), 503, "ATTACK_MODE"); // learns it here
    const before = reads;
    await expectErrorShape(await lookup(b, "10.69.0.2", { env: counting }), 503, "ATTACK_MODE");
    expect(reads - before).toBe(0);
  }, 120_000); // starts attack mode with hundreds of lookups, slow when the whole suite runs

  it("while an isolate knows it is on, its guesses are refused by objects of its own region picked at random, not by the code's", async () => {
    const { deployed, asked, calls, objectOf } = await startAttack("spread");
    const [code] = await wrongCodesOfOneShard(1, 20_000, "B"); // its claim shard is claims:wnam:B
    const from = calls();
    for (let k = 0; k < 16; k++)
      await expectErrorShape(await lookup(code, `10.70.${k}.1`, { env: deployed }), 503, "ATTACK_MODE");
    // One call a lookup, to one of the 64 objects of the caller's region (here the default one),
    // several for the same code: which one answers says nothing of it. The code's shard is not asked.
    const near = `claims:${configOf(env).claims.defaultRegion}:`;
    expect(asked(from)).toHaveLength(16);
    expect(asked(from).every((object) => object.startsWith(near))).toBe(true);
    const objects = new Set(asked(from));
    expect(objects.size).toBeGreaterThanOrEqual(2);
    // Each counted its refusals, and reports them (its alarm): none is lost to the keeper.
    for (const object of objects) expect(await runDurableObjectAlarm(objectOf(object))).toBe(true);
    expect((await keeperOf("spread").usage()).pressureLastMinute).toBeGreaterThanOrEqual(1 + 16);
  }, 120_000); // starts attack mode, then 16 lookups each waiting for its audit hand-off

  it("an object still running the previous version (no attackCheck) is asked as that version asked", async () => {
    const { deployed, asked, calls, objectOf } = await startAttack("previous-objects");
    // Each stub's attackCheck is a call of a method no version has: the error workerd gives for a missing method.
    const previous = {
      ...deployed,
      CODE_CLAIMS: passThrough(deployed.CODE_CLAIMS, {
        get: (id: DurableObjectId) => {
          const real = env.CODE_CLAIMS.get(id) as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
          return passThrough(deployed.CODE_CLAIMS.get(id), {
            attackCheck: (...a: unknown[]) => real.attackCheckOfALaterVersion(...a),
          });
        },
      }),
    } as Env;
    const [learn, next] = await wrongCodesOfOneShard(2, 9_500);
    await expectErrorShape(await lookup(learn, "10.71.0.1", { env: previous }), 503, "ATTACK_MODE"); // learns it here
    const from = calls();
    await expectErrorShape(await lookup(next, "10.71.0.2", { env: previous }), 503, "ATTACK_MODE");
    // The check object failed; one of the region's own claim shards was asked with an "unread" lookup
    // (only shards, which hold units anyway, take one that way), and counted the refusal.
    const [, shard] = asked(from);
    const near = configOf(env).claims.defaultRegion;
    expect(charsOfRegion(near).map((c) => claimObjectName(c))).toContain(shard);
    expect(await runDurableObjectAlarm(objectOf(shard))).toBe(true);
  }, 120_000);

  it("objects re-ask the keeper at moments spread past each end it announces, not all in one second", async () => {
    const { deployed } = await startAttack("recheck-spread");
    const announced = await attackUntil("recheck-spread");
    const settings = budgetSettings(configOf(env));
    const untils: number[] = [];
    for (const c of charsOfRegion("apac")) {
      const object = deployed.CODE_CLAIMS.get(deployed.CODE_CLAIMS.idFromName(attackCheckObjectName(c, "apac")));
      const answer = await object.attackCheck(settings);
      expect(answer.outcome).toBe("attack");
      if (answer.outcome === "attack") untils.push(answer.until);
    }
    for (const until of untils) {
      expect(until).toBeGreaterThanOrEqual(announced);
      expect(until).toBeLessThan(announced + ATTACK_RECHECK_SPREAD_MS);
    }
    expect(new Set(untils).size).toBeGreaterThan(1);
  });

  it("an isolate keeps asking first past the end it heard of: no lookup reaches its code's shard while attack mode goes on", async () => {
    const { deployed, t0, asked, calls, fireDue } = await startAttack("hint-lapse");
    // Guesses go on at the budget's rate (reported), so the keeper's check keeps attack mode on; by
    // then the end this isolate heard of (and any object's spread past it) has passed.
    vi.setSystemTime(t0 + 40_000);
    for (const [k, code] of (await wrongCodesOfOneShard(5, 31_000)).entries())
      await expectErrorShape(await lookup(code, `10.74.${k}.1`, { env: deployed }), 503, "ATTACK_MODE");
    vi.setSystemTime(t0 + 60_000 + ATTACK_RECHECK_SPREAD_MS);
    await fireDue();
    await runDurableObjectAlarm(keeperOf("hint-lapse"));
    expect(await attackUntil("hint-lapse")).toBeGreaterThan(Date.now());
    const [code] = await wrongCodesOfOneShard(1, 30_000, "B");
    const from = calls();
    await expectErrorShape(await lookup(code, "10.73.0.1", { env: deployed }), 503, "ATTACK_MODE");
    expect(asked(from)).toHaveLength(1);
    expect(asked(from)[0].startsWith(`claims:${configOf(env).claims.defaultRegion}:`)).toBe(true);
  });

  it("a trickle under half the budget's rate cannot hold it: it ends at its minimum", async () => {
    const { deployed, t0, fireDue } = await startAttack("trickle");
    // One refused guess every 20 s, each reported: 3 a minute against a budget of 10.
    for (const [k, code] of (await wrongCodesOfOneShard(3, 2_000)).entries()) {
      vi.setSystemTime(t0 + 11_000 + k * 20_000);
      await fireDue();
      await expectErrorShape(await lookup(code, "10.63.0.1", { env: deployed }), 503, "ATTACK_MODE");
    }
    vi.setSystemTime(t0 + 61_000);
    await fireDue();
    expect(await endOf("trickle", t0 + 61_000, deployed)).toBe(t0 + 61_000);
  });

  it("guesses at half the rate hold it, and it ends within 2 minutes of the last one", async () => {
    const { deployed, t0, fireDue } = await startAttack("sustained");
    // Ten refused guesses a minute for three minutes (the budget's rate), from many addresses; the
    // keeper's checks (every 30 s once the minimum is over) keep it on all along.
    let last = 0;
    const codes = await wrongCodesOfOneShard(30, 3_000);
    for (const [k, code] of codes.entries()) {
      last = t0 + 2_000 + k * 6_000;
      vi.setSystemTime(last);
      await fireDue(); // the objects that refused report
      await runDurableObjectAlarm(keeperOf("sustained")); // a no-op until a check is due
      expect(await attackUntil("sustained")).toBeGreaterThan(Date.now());
      await expectErrorShape(await lookup(code, `10.64.${k}.1`, { env: deployed }), 503, "ATTACK_MODE");
    }
    const ended = await endOf("sustained", last + 1_000, deployed);
    expect(ended - last).toBeLessThanOrEqual(120_000);
  }, 240_000); // 30 lookups, each waiting for its audit hand-off, and the alarms of the objects that refused them: slow when the whole suite runs

  it("refused lookups count toward the client's daily cap", async () => {
    const { deployed } = await startAttack("refused-caps");
    const capped = { ...deployed, CLIENT_DAILY_FAILURE_CAP: "3" } as Env;
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await lookup(wrongCode(700 + i), "10.65.0.9", { env: capped })).status);
    expect(statuses.slice(0, 3)).toEqual([503, 503, 503]);
    expect(statuses.slice(3)).toEqual([429, 429]);
  });
});

it("a shard reports refusals no later lookup reports: its alarm does", async () => {
  const { deployed, asked, calls, objectOf } = loggedDeployment("report-alarm", { GUESS_BUDGET_PER_MINUTE: "10" });
  const codes = await wrongCodesOfOneShard(12, 4_000);
  for (const code of codes.slice(0, 10)) expect((await lookup(code, "10.66.0.1", { env: deployed })).status).toBe(400);
  const before = (await keeperOf("report-alarm").usage()).pressureLastMinute;
  // Two refused: the first starts attack mode, the second is counted in the shard only (a report is due in 10 s).
  await expectErrorShape(await lookup(codes[10], "10.66.0.2", { env: deployed }), 503, "ATTACK_MODE");
  const from = calls();
  await expectErrorShape(await lookup(codes[11], "10.66.0.2", { env: deployed }), 503, "ATTACK_MODE");
  expect((await keeperOf("report-alarm").usage()).pressureLastMinute).toBe(before);
  // The first was refused by the code's shard; the second, once this isolate knew of attack mode, by
  // one of the 64 attack-check objects of the caller's own region (no location here: the default region).
  expect(await runDurableObjectAlarm(objectOf(claimObjectName("A")))).toBe(true);
  expect(await runDurableObjectAlarm(objectOf(asked(from)[0]))).toBe(true);
  expect((await keeperOf("report-alarm").usage()).pressureLastMinute).toBe(before + 2);
}, 120_000); // 12 lookups, each waiting for its audit hand-off, like its neighbours

it("checking attack mode takes no unit of the budget (an unread lookup takes two), and the keeper keeps no entry for it", async () => {
  const settings = { ...budgetSettings(configOf(env)), keeper: "check-units|global" };
  const object = (name: string) => env.CODE_CLAIMS.get(env.CODE_CLAIMS.idFromName(`check-units|${name}`));
  expect(await object("claims:enam:A").attackCheck(settings)).toEqual({ outcome: "proceed" });
  expect((await keeperOf("check-units").usage()).held).toBe(0);
  expect((await object("claims:wnam:A").lookup(settings, "normal", "Axyz", "unread")).outcome).toBe("proceed");
  expect((await keeperOf("check-units").usage()).held).toBe(2);
  const entries = await runInDurableObject(keeperOf("check-units"), (instance) => {
    const state = (instance as unknown as { ks: { held: Record<string, number> } }).ks;
    return Object.keys(state.held).length;
  });
  expect(entries).toBe(1);
});

it("units are a lease: a shard that falls silent gives its units back to the budget, and drops them itself", async () => {
  const keeper = keeperOf("lease");
  const settings = { ...budgetSettings(configOf(env)), keeper: "lease|global" };
  const report = { held: 0, spent: 0, refused: 0, need: 0, want: 2 };
  const grant = await keeper.grant(settings, "silent-shard", report);
  expect(grant.granted).toBe(2);
  expect((await keeper.usage()).held).toBe(2);
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(Date.now() + UNITS_LEASE_MS + 61_000);
  expect((await keeper.usage()).held).toBe(0); // forgotten a minute after the shard's own lease ran out
  // The shard's side: a gate whose units are older than the lease asks the keeper before evaluating.
  const stub = env.CODE_CLAIMS.get(env.CODE_CLAIMS.idFromName("lease|claims:x"));
  const asked = await runInDurableObject(stub, async (_instance, state) => {
    let calls = 0;
    const counting = new Proxy(env.GUESS_BUDGET.get(env.GUESS_BUDGET.idFromName("lease|global")), {
      get: (t, p) =>
        p === "grant"
          ? (...a: never[]) => {
              calls++;
              return Reflect.apply(t.grant, t, a);
            }
          : Reflect.get(t, p),
    });
    state.storage.sql.exec(
      "CREATE TABLE IF NOT EXISTS gate (k TEXT PRIMARY KEY NOT NULL, v INTEGER NOT NULL) WITHOUT ROWID",
    );
    state.storage.sql.exec("INSERT OR REPLACE INTO gate (k, v) VALUES ('units', 2), ('spent', 0)");
    const gate = new GuessGate(state.storage.sql, "claims:x", () => counting);
    await gate.admit(settings);
    return calls;
  });
  expect(asked).toBe(1);
});
