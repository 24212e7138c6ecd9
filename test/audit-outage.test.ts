// The trail's database refusing writes for longer than every retry (a compressed schedule here:
// three retries 1 s apart, vitest.config.ts) while creates and lookups go on, then answering again:
// nothing answered is lost, nothing is written twice, the event hooks get each event once, and the
// outage itself is an event and a hook signal.
import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { HELD_PREFIX } from "../common/audit-held";
import { faults } from "./faults";
import harness from "./harness-worker";
import { call, createRegistration, lookup, mintToken, trailRows } from "./helpers";

const backlogOf = async (admin: string) =>
  (
    (await (await call("GET", "/cc/api/qrfallback/status", { token: admin })).json()) as {
      auditBacklog: { batches: number; events: number; oldestAt: number | null };
    }
  ).auditBacklog;

/** The consumer's minute cron, as Cloudflare runs it (the main Worker's runs beside it). */
async function minuteCron() {
  const ctx = { waitUntil: () => {}, passThroughOnException: () => {} } as unknown as ExecutionContext;
  await harness.scheduled(createScheduledController({ cron: "* * * * *" }), env, ctx);
}

describe("an audit database outage longer than the retries", () => {
  it("holds every dead-lettered event, signals it, and replays each into the trail and to the hooks once", async () => {
    const admin = await mintToken("ops", true);
    const hook = await call("POST", "/cc/api/eventhooks", {
      token: admin,
      body: { name: "SIEM", eventType: "ALL", invocationEndpoint: "http://127.0.0.1:9/hook" },
    });
    expect(hook.status).toBe(201);
    const token = await mintToken("OutageApp", false, ["qr:create"]);
    const delivered: string[] = [];
    faults.hookDeliveries = delivered;
    faults.auditDbDown = true;
    const fallbackIds = new Set<string>();
    try {
      // Traffic while the trail refuses every write: each answered create and lookup has an event.
      for (let i = 0; i < 5; i++) {
        const { res, json } = await createRegistration(token, { rpAppId: "OutageApp" });
        expect(res.status).toBe(200);
        expect((await lookup(json.qrFallbackActivationCode, `198.51.100.${10 + i}`)).status).toBe(200);
      }
      // Past the retries the events reach the dead-letter queue, are held in R2, and the outage is signalled.
      const held = await vi.waitUntil(
        async () => {
          const b = await backlogOf(admin);
          // All 10 events held (each held batch also holds its one QR_FALLBACK_AUDIT_DEGRADED).
          return b.events - b.batches === 10 ? b : false;
        },
        { timeout: 30_000, interval: 200 },
      );
      expect(held.oldestAt).toBeGreaterThan(0);
      expect(delivered.length).toBeGreaterThan(0); // the degraded signal went to the hooks at once
      expect(await trailRows()).toEqual([]);
    } finally {
      faults.auditDbDown = false;
    }

    try {
      // The database answers again, but the hooks' queue does not: the events go into the trail and
      // stay held, owed to the hooks (being in the trail says nothing of having reached them).
      faults.hookQueueDown = true;
      const deliveredBefore = delivered.length;
      try {
        await minuteCron();
      } finally {
        faults.hookQueueDown = false;
      }
      expect((await backlogOf(admin)).events).toBeGreaterThan(0);
      expect(delivered.length).toBe(deliveredBefore);
      // Both answer: the next minute replays what is still held.
      await minuteCron();
      expect(await backlogOf(admin)).toMatchObject({ batches: 0, events: 0, oldestAt: null });
      expect((await env.AUDIT_ARCHIVE.list({ prefix: HELD_PREFIX })).objects).toEqual([]);
      const rows = await trailRows();
      const mine = rows.filter((e) => e.rpAppId === "OutageApp");
      for (const e of mine) fallbackIds.add(e.additionalDetails.extras.fallbackId ?? "");
      expect(fallbackIds.size).toBe(5);
      for (const id of fallbackIds) {
        const of = mine.filter((e) => e.additionalDetails.extras.fallbackId === id);
        expect(of.map((e) => e.eventName).sort()).toEqual(["QR_FALLBACK_CODE_ISSUED", "QR_FALLBACK_PAYLOAD_RETRIEVED"]);
      }
      const degraded = rows.filter((e) => e.eventName === "QR_FALLBACK_AUDIT_DEGRADED");
      expect(degraded.length).toBeGreaterThan(0);
      expect(degraded[0]).toMatchObject({ rpAppId: "QRFallbackSecurity", isSuccessful: false });
      expect(degraded.reduce((n, e) => n + (e.additionalDetails.extras.deadLetteredCount ?? 0), 0)).toBe(10);
      // Every event in the trail went to the hook exactly once (replays skip what was signalled already).
      expect([...delivered].sort()).toEqual(rows.map((e) => e.id).sort());

      // A second run replays nothing and pushes nothing again.
      await minuteCron();
      expect((await trailRows()).length).toBe(rows.length);
      expect(delivered.length).toBe(rows.length);
    } finally {
      faults.hookDeliveries = null;
      faults.hookQueueDown = false;
    }
  });
});
