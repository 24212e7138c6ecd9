import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  call,
  createRegistration,
  expectErrorShape,
  lookup,
  mintToken,
  refusedCount,
  waitForTrail,
  writeRefusalSummaries,
} from "./helpers";

describe("per-client lookup limit (Rate Limiting binding on the client: IPv4 address, IPv6 /64)", () => {
  it("stops a guessing client with 429 + Retry-After well within 60 guesses; other clients are unaffected", async () => {
    const statuses: number[] = [];
    let limited: Response | undefined;
    for (let i = 0; i < 60 && !limited; i++) {
      const res = await lookup(`guess${String.fromCharCode(97 + (i % 26))}`, "198.51.100.66", { via: "handler" });
      statuses.push(res.status);
      if (res.status === 429) limited = res;
    }
    expect(limited).toBeDefined();
    expect(statuses.length).toBeLessThanOrEqual(41); // 20 a period; a run crossing into the next gets 20 more
    expect(statuses.slice(0, 5)).toEqual([400, 400, 400, 400, 400]); // a person's few typos are never blocked
    expect(Number(limited?.headers.get("retry-after"))).toBeGreaterThan(0);
    await expectErrorShape(limited as Response, 429, "RATE_LIMITED");

    // Another address still gets its payload.
    const { json } = await createRegistration(await mintToken("LimitApp"));
    const other = await lookup(json.qrFallbackActivationCode, "198.51.100.67");
    expect(other.status).toBe(200);

    // The limited attempts are counted in the network's refusal summary, not written one by one.
    await writeRefusalSummaries("198.51.100.0/24");
    const rows = await waitForTrail((r) => refusedCount(r, "198.51.100.0", "RATE_LIMITED") >= 1);
    expect(refusedCount(rows, "198.51.100.0", "RATE_LIMITED")).toBe(1);
    expect(rows.filter((e) => e.errorCode === "RATE_LIMITED" && e.eventName !== "QR_FALLBACK_LOOKUPS_REFUSED")).toEqual(
      [],
    );
  });

  it("limits creations per token", async () => {
    const token = await mintToken("CreateFlood");
    let status = 200;
    let n = 0;
    while (status === 200 && n < 1300) {
      status = (await call("POST", "/rp/versioned/client/qr/create", { token, body: {}, via: "handler" })).status;
      n++;
    }
    expect(status).toBe(429);
    // CREATE_LIMITER: 600 per 60 s period per token (a run crossing into the next period gets 600 more).
    expect(n).toBeGreaterThanOrEqual(601);
    expect(n).toBeLessThanOrEqual(1201);
    // A different token is not affected.
    const other = await call("POST", "/rp/versioned/client/qr/create", {
      token: await mintToken("CreateFlood"),
      body: {},
    });
    expect(other.status).toBe(200);
  });
});

const codeOf = (i: number) =>
  `ww${String.fromCharCode(97 + (i % 26))}${String.fromCharCode(97 + (Math.floor(i / 26) % 26))}ww`;

describe("keys that follow an attacker's costs", () => {
  it("60 addresses of one IPv6 /64 share one client's allowance of 20", async () => {
    const statuses: number[] = [];
    for (let i = 1; i <= 60; i++) {
      statuses.push((await lookup(codeOf(i), `2001:db8:60:1::${i.toString(16)}`, { via: "handler" })).status);
    }
    // The binding counts fixed one-minute periods: a run that crosses into the next one gets 20 more.
    const evaluated = statuses.filter((s) => s === 400).length;
    expect(evaluated).toBeGreaterThanOrEqual(20);
    expect(evaluated).toBeLessThanOrEqual(40);
    expect(statuses.filter((s) => s === 429)).toHaveLength(60 - evaluated);
    expect(statuses.slice(0, 20).every((s) => s === 400)).toBe(true);
    // Another /64 of the same /48 is another client.
    expect((await lookup(codeOf(99), "2001:db8:60:2::1", { via: "handler" })).status).toBe(400);
  });

  it("a network (IPv4 /24) has its own limit of 200 a minute, above one client's", async () => {
    // 21 addresses, each within its own 20: malformed codes, so the guess budget is not what stops them.
    const responses: Response[] = [];
    for (let host = 1; host <= 21; host++) {
      for (let i = 0; i < 20; i++) responses.push(await lookup("not-a-code!", `192.0.2.${host}`, { via: "handler" }));
    }
    const answered = responses.filter((r) => r.status === 400).length;
    // 200 in one period; a run crossing into the next period gets at most 200 more.
    expect(answered).toBeGreaterThanOrEqual(200);
    expect(answered).toBeLessThanOrEqual(400);
    const limited = responses.filter((r) => r.status === 429);
    expect(limited).toHaveLength(420 - answered);
    const body = await expectErrorShape(limited[0], 429, "RATE_LIMITED");
    expect(body.error.message).toMatch(/this network/);
    expect((await lookup(codeOf(1), "192.0.3.1", { via: "handler" })).status).toBe(400);
  });

  it("daily failure caps per client and per network (the ledger Durable Object), malformed codes counted too", async () => {
    const capped = { ...env, CLIENT_DAILY_FAILURE_CAP: "3", NETWORK_DAILY_FAILURE_CAP: "5" } as Env;
    const at = (code: string, ip: string) => lookup(code, ip, { env: capped });
    expect((await at("bad!", "198.18.7.1")).status).toBe(400); // malformed: answered as a miss, and counted
    for (let i = 0; i < 2; i++) expect((await at(codeOf(i), "198.18.7.1")).status).toBe(400);
    const client = await at(codeOf(3), "198.18.7.1");
    const body = await expectErrorShape(client, 429, "RATE_LIMITED");
    expect(body.error.message).toMatch(/today/);
    expect(Number(client.headers.get("retry-after"))).toBeGreaterThan(3600);
    // Two more failures from a neighbour fill the network's 5; then the whole /24 waits, other networks do not.
    for (let i = 0; i < 2; i++) expect((await at(codeOf(10 + i), "198.18.7.2")).status).toBe(400);
    await expectErrorShape(await at(codeOf(20), "198.18.7.3"), 429, "RATE_LIMITED");
    expect((await at(codeOf(20), "198.18.8.3")).status).toBe(400);
  });

  it("with LEDGER_BATCH_MS, a network's concurrent failures reach its ledger in one call, every one counted", async () => {
    const calls: Record<string, number>[] = [];
    const ns = env.CLIENT_LEDGER;
    const counting = new Proxy(ns, {
      get(target, prop) {
        if (prop !== "get") return Reflect.get(target, prop).bind(target);
        return (id: DurableObjectId) =>
          new Proxy(target.get(id), {
            get(stub, p) {
              if (p !== "recordFailures") return Reflect.get(stub, p);
              return (caps: never, counts: Record<string, number>) => {
                calls.push(counts);
                return stub.recordFailures(caps, counts);
              };
            },
          });
      },
    });
    const lingering = { ...env, LEDGER_BATCH_MS: "200", CLIENT_LEDGER: counting } as Env;
    const statuses = await Promise.all(
      Array.from({ length: 8 }, (_, i) => lookup(codeOf(40 + i), `198.18.9.${1 + (i % 2)}`, { env: lingering })),
    );
    expect(statuses.map((r) => r.status)).toEqual(Array(8).fill(400));
    expect(calls).toEqual([{ "198.18.9.1": 4, "198.18.9.2": 4 }]);
    const ledger = ns.get(ns.idFromName("198.18.9.0/24"));
    const network = await runInDurableObject(ledger, (_, state) =>
      state.storage.sql.exec<{ n: number }>("SELECT sum(n) AS n FROM failures WHERE subject = '*'").one(),
    );
    expect(network.n).toBe(8);
  });
});
