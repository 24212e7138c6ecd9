import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { configOf } from "../src/config";
import { PendingCodes, type ReservedCode } from "../src/fallback/pending-codes";
import { budgetSettings } from "../src/security/guess-budget";
import { call, codesOfRegion, createRegistration, expectErrorShape, lookup, mintToken, placementOf } from "./helpers";

describe("POST /rp/versioned/device/pendingqr", () => {
  it("returns the qrCode byte for byte without a token, once", async () => {
    const token = await mintToken("LookupApp");
    const { json } = await createRegistration(token);
    const code = json.qrFallbackActivationCode as string;

    const first = await lookup(code);
    expect(first.status).toBe(200);
    expect(first.headers.get("cache-control")).toBe("no-store");
    const text = await first.text();
    expect(text).toBe(JSON.stringify({ qrCode: json.qrCode }));

    const again = await lookup(code);
    const body = await expectErrorShape(again, 400, "QR_FALLBACK_NOT_FOUND");
    expect(body.error.message).not.toContain(code);
  });

  it("is also served at /rp/device/pendingqr", async () => {
    const { json } = await createRegistration(await mintToken("AliasApp"));
    const res = await call("POST", "/rp/device/pendingqr", { body: { activationCode: json.qrFallbackActivationCode } });
    expect(res.status).toBe(200);
  });

  it("normalizes what a person types: case, spaces and dashes", async () => {
    const token = await mintToken("NormApp");
    for (const mangle of [
      (c: string) => c.toUpperCase(),
      (c: string) => ` ${c.slice(0, 3)} ${c.slice(3)} `,
      (c: string) => `${c.slice(0, 3)}-${c.slice(3).toUpperCase()}`,
    ]) {
      const { json } = await createRegistration(token);
      const res = await lookup(mangle(json.qrFallbackActivationCode as string));
      expect(res.status).toBe(200);
      expect(((await res.json()) as { qrCode: string }).qrCode).toBe(json.qrCode);
    }
  });

  it("answers unknown, used, expired and malformed codes with one identical body", async () => {
    const token = await mintToken("SameBodyApp");
    const used = (await createRegistration(token)).json.qrFallbackActivationCode as string;
    expect((await lookup(used)).status).toBe(200);
    const bodies: string[] = [];
    for (const code of [used, "zzzzzz", "abc", "ABC!@#", "", "a".repeat(5000)]) {
      const res = await lookup(code);
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: { code: string; message: string; requestId: string } };
      bodies.push(JSON.stringify({ ...body.error, requestId: undefined }));
    }
    expect(new Set(bodies).size).toBe(1);
    expect(bodies[0]).toContain("QR_FALLBACK_NOT_FOUND");
  });

  it("answers 400 INVALID_REQUEST for a body without a string activationCode", async () => {
    await expectErrorShape(await lookup(123), 400, "INVALID_REQUEST");
    await expectErrorShape(
      await call("POST", "/rp/versioned/device/pendingqr", { rawBody: "{not json" }),
      400,
      "INVALID_REQUEST",
    );
  });
});

describe("expiry and collisions (the pending-code store on the real KV and claims)", () => {
  const open = () => PendingCodes.open(env.QR_KV, env.CODE_CLAIMS, configOf(env).serverSecret);
  const alphabet = "abcdefghijklmnopqrstuvwxyz";
  const format = { normal: { length: 6, alphabet }, long: { length: 10, alphabet } };
  const settings = () => budgetSettings(configOf(env));
  /** Where a create with no location claims: the deployment's default region. */
  const LOCAL = { region: configOf(env).claims.defaultRegion, legacyUntil: 0 };
  const background: Promise<unknown>[] = [];
  const waitUntil = (p: Promise<unknown>) => background.push(p);

  it("never resolves an entry past its sealed expiry, even while KV still returns it", async () => {
    const store = await open();
    const expiresAt = Date.now() + 1_000;
    const reserved = (await store.reserve(format, expiresAt, settings(), LOCAL)) as ReservedCode;
    await store.write(reserved, JSON.stringify({ code: reserved.activationCode }), "ExpiryApp", 180);
    // KV keeps the entry for the full TTL (180 s); the clock is past the QR's own expiry.
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      vi.setSystemTime(expiresAt + 1);
      const late = await store.redeem(reserved.activationCode, "normal", settings(), waitUntil);
      expect(late.outcome).toBe("expired");
    } finally {
      vi.useRealTimers();
    }
  });

  it("detects a collision with a live code and draws again", async () => {
    const store = await open();
    const [taken, free] = await codesOfRegion("weur", 2, 300_000);
    const draws = [taken, taken, free];
    const drawCode = () => draws.shift() as string;
    const expiresAt = Date.now() + 60_000;
    const weur = { region: "weur" as const, legacyUntil: 0 };
    const first = (await store.reserve(format, expiresAt, settings(), weur, drawCode)) as ReservedCode;
    await store.write(first, "first", "C", 180);
    const second = (await store.reserve(format, expiresAt, settings(), weur, drawCode)) as ReservedCode;
    await store.write(second, "second", "C", 180);
    expect(first.activationCode).toBe(taken);
    expect(second.activationCode).toBe(free);
    const res = await lookup(taken);
    expect(((await res.json()) as { qrCode: string }).qrCode).toBe("first");
  });

  it("gives up rather than replace a live code", async () => {
    const store = await open();
    const expiresAt = Date.now() + 60_000;
    const at = await placementOf("eeeeee");
    expect(await store.reserve(format, expiresAt, settings(), at, () => "eeeeee")).not.toBeNull();
    expect(await store.reserve(format, expiresAt, settings(), at, () => "eeeeee")).toBeNull();
  });

  it("takes over a claim whose code has expired, redeemed or not", async () => {
    const store = await open();
    const at = await placementOf("xxxxxx");
    const past = (await store.reserve(format, Date.now() + 60_000, settings(), at, () => "xxxxxx")) as ReservedCode;
    expect(past).not.toBeNull();
    // The same code once the first claim is over: the claim is renewed, not refused.
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      vi.setSystemTime(Date.now() + 61_000);
      const again = await store.reserve(format, Date.now() + 60_000, settings(), at, () => "xxxxxx");
      expect(again?.activationCode).toBe("xxxxxx");
      expect(await store.reserve(format, Date.now() + 60_000, settings(), at, () => "xxxxxx")).toBeNull();
    } finally {
      vi.useRealTimers();
    }
  });
});
