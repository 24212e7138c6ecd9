import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { call, expectErrorShape, lookup, mintToken, waitForTrail } from "./helpers";

// A budget of 5 wrong codes a minute and a 1-second cooldown, so a whole cycle fits in a test.
const small = { ...env, GUESS_BUDGET_PER_MINUTE: "5", ATTACK_COOLDOWN_SECONDS: "1" } as Env;
const guess = (code: string, i: number) => lookup(code, `10.20.${i}.1`, { env: small });

describe("attack mode: start, long codes, end, and no re-arm", () => {
  it("malformed codes are answered like misses but never counted", async () => {
    for (const [i, code] of ["abc", "abcdefg", "abc12x", "abcdefghijk", "", "ab-c"].entries()) {
      await expectErrorShape(await guess(code, i), 400, "QR_FALLBACK_NOT_FOUND");
    }
    // The whole budget of 5 is still there for well-formed codes.
    for (let i = 0; i < 5; i++) expect((await guess(`zzzzz${String.fromCharCode(97 + i)}`, 10 + i)).status).toBe(400);
  });

  it("the sixth wrong code starts attack mode; long codes are issued and served; it ends after the cooldown", async () => {
    await expectErrorShape(await guess("zzzzzz", 20), 503, "ATTACK_MODE");
    const token = await mintToken("CycleApp");
    const created = await call("POST", "/rp/versioned/client/qr/create", {
      token,
      body: { includeQRFallbackCode: true },
      env: small,
    });
    const long = ((await created.json()) as { qrFallbackActivationCode: string }).qrFallbackActivationCode;
    expect(long).toHaveLength(10);
    // Long codes have their own budget: a wrong long code is evaluated, not refused.
    expect((await guess("qqqqqqqqqq", 21)).status).toBe(400);
    expect((await guess(long.toUpperCase(), 22)).status).toBe(200);

    // After the cooldown: normal-length codes are evaluated and issued again.
    await vi.waitUntil(async () => (await guess("yyyyyy", 23)).status === 400, { timeout: 10_000, interval: 250 });
    const after = await call("POST", "/rp/versioned/client/qr/create", {
      token,
      body: { includeQRFallbackCode: true },
      env: small,
    });
    const normal = ((await after.json()) as { qrFallbackActivationCode: string }).qrFallbackActivationCode;
    expect(normal).toHaveLength(6);
    expect((await guess(normal, 24)).status).toBe(200);

    const rows = await waitForTrail((r) => r.some((e) => e.eventName === "QR_FALLBACK_ATTACK_MODE_ENDED"));
    const started = rows.find((e) => e.eventName === "QR_FALLBACK_ATTACK_MODE_STARTED");
    const ended = rows.find((e) => e.eventName === "QR_FALLBACK_ATTACK_MODE_ENDED");
    expect((ended?.eventTimeInUTC ?? 0) - (started?.eventTimeInUTC ?? 0)).toBeGreaterThanOrEqual(1_000);
    // A per-application poller finds them: the security application is listed and holds them.
    const admin = await mintToken("ops", true);
    const apps = (await (await call("GET", "/cc/api/application", { token: admin })).json()) as { appID: string }[];
    expect(apps.map((a) => a.appID)).toContain("QRFallbackSecurity");
    const window = `startTSUTC=0&endTSUTC=${Date.now() + 1}&rpAppId=QRFallbackSecurity&pageSize=1000`;
    const page = (await (await call("GET", `/cc/api/versioned/audit/search?${window}`, { token: admin })).json()) as {
      data: { eventName: string }[];
    };
    const names = page.data.map((e) => e.eventName);
    expect(names).toContain("QR_FALLBACK_ATTACK_MODE_STARTED");
    expect(names).toContain("QR_FALLBACK_ATTACK_MODE_ENDED");
    expect(started).toMatchObject({
      rpAppId: "QRFallbackSecurity",
      isSuccessful: true,
      eventTags: ["QR_FALLBACK", "SECURITY"],
    });
  });

  it("what was held before attack mode does not re-arm it: a fresh minute's budget after the cooldown", async () => {
    // One failure was spent above (yyyyyy, polled until evaluated); three more stay under the budget of 5
    // (the old design re-armed the lock at the first failure after it).
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await guess(`xxxxx${String.fromCharCode(97 + i)}`, 30 + i)).status);
    expect(statuses).toEqual([400, 400, 400]);
    const rows = await waitForTrail((r) => r.some((e) => e.eventName === "QR_FALLBACK_ATTACK_MODE_ENDED"));
    expect(rows.filter((e) => e.eventName === "QR_FALLBACK_ATTACK_MODE_STARTED")).toHaveLength(1);
  });
});
