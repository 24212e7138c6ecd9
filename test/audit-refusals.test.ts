import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { summaryLedger } from "../src/security/client-ledger";
import { call, lookup, trailRows, waitForTrail, writeRefusalSummaries } from "./helpers";

const NETWORK_OF_IP = "203.0.113.0";

describe("a flood-bounded trail", () => {
  it("400 requests from one client leave at most 60 rows; the refusal summaries count every refused request", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 400; i++) {
      // Wrong codes, oversized bodies and wrong media types: all refused once the client is over its limit.
      const kind = i % 3;
      const res =
        kind === 0
          ? await lookup(`flood${String.fromCharCode(97 + (i % 26))}`, "203.0.113.50", { via: "handler" })
          : kind === 1
            ? await call("POST", "/rp/versioned/device/pendingqr", {
                rawBody: JSON.stringify({ activationCode: "x".repeat(20_000) }),
                ip: "203.0.113.50",
                via: "handler",
              })
            : await call("POST", "/rp/versioned/device/pendingqr", {
                rawBody: "activationCode=abcdef",
                headers: { "Content-Type": "application/x-www-form-urlencoded" },
                ip: "203.0.113.50",
                via: "handler",
              });
      statuses.push(res.status);
    }
    const refused = statuses.filter((s) => s === 429 || s === 413 || s === 415).length;
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(300);

    // The minute is over: the network's ledger hands it to the summary ledger, which writes the summaries.
    const ledger = env.CLIENT_LEDGER.get(env.CLIENT_LEDGER.idFromName("203.0.113.0/24"));
    await writeRefusalSummaries("203.0.113.0/24");
    const rows = await waitForTrail((r) => {
      const summaries = r.filter((e) => e.eventName === "QR_FALLBACK_LOOKUPS_REFUSED");
      return summaries.reduce((n, e) => n + (e.additionalDetails.extras.refusedCount ?? 0), 0) >= refused;
    });
    const fromNetwork = rows.filter((e) => e.remoteIP === NETWORK_OF_IP);
    expect(fromNetwork.length).toBeLessThanOrEqual(60);
    const summaries = fromNetwork.filter((e) => e.eventName === "QR_FALLBACK_LOOKUPS_REFUSED");
    expect(summaries.reduce((n, e) => n + (e.additionalDetails.extras.refusedCount ?? 0), 0)).toBe(refused);
    // One per reason and minute, filed under the security application, tagged as a security signal.
    const keys = summaries.map((e) => `${e.errorCode}|${e.additionalDetails.extras.windowStartUTC}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(new Set(summaries.map((e) => e.errorCode))).toContain("RATE_LIMITED");
    for (const e of summaries) {
      expect(e).toMatchObject({
        rpAppId: "QRFallbackSecurity",
        isSuccessful: false,
        eventTags: ["QR_FALLBACK", "SECURITY"],
      });
    }

    // The ledger keeps where summaries go, and nothing else of the configuration (no secret).
    const stored = await runInDurableObject(ledger, (_, state) => state.storage.get<Record<string, unknown>>("scope"));
    expect(stored).toEqual({ tenantId: "local", securityAppId: "QRFallbackSecurity" });

    // Running the alarms again writes nothing twice.
    expect(await runDurableObjectAlarm(ledger)).toBe(false);
    expect(await runDurableObjectAlarm(summaryLedger(env.CLIENT_LEDGER))).toBe(false);
    expect((await trailRows()).length).toBe(rows.length);
  });
});
