// Edges of the claim shards' storage an outside review found: an event numbered after a restart,
// a queue outage past a table's hour, a send that never answers, and units past their lease reported
// through a create's check.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { AuditEventName, type QueuedAuditEvent } from "../common/audit-contract";
import { buildAuditEvent } from "../src/audit/event";
import { configOf } from "../src/config";
import { CLAIM_TABLE_MS, type CodeClaims, EVENT_RETRY_MS } from "../src/fallback/code-claims";
import { budgetSettings } from "../src/security/guess-budget";
import { waitForTrail } from "./helpers";

const settings = budgetSettings(configOf(env));
const H = CLAIM_TABLE_MS;

afterEach(() => {
  vi.useRealTimers();
});

const shard = (name: string): DurableObjectStub<CodeClaims> =>
  env.CODE_CLAIMS.get(env.CODE_CLAIMS.idFromName(`storage-edges|${name}`));

function eventOf(eventName: AuditEventName): QueuedAuditEvent {
  return buildAuditEvent({ tenantId: "local", securityAppId: "QRFallbackSecurity" }, null, {
    eventName,
    message: "review",
    subName: "device/pendingqr",
    rpAppId: "ReviewApp",
    isSuccessful: true,
    errorCode: null,
    fallbackId: crypto.randomUUID(),
  });
}

async function restart(stub: DurableObjectStub<CodeClaims>): Promise<DurableObjectStub<CodeClaims>> {
  await runInDurableObject(stub, (_i, state) => state.abort("restart")).catch(() => undefined);
  return env.CODE_CLAIMS.get(stub.id);
}

async function queueDown(stub: DurableObjectStub<CodeClaims>): Promise<void> {
  await runInDurableObject(stub, (instance) => {
    const refusing = {
      send: () => Promise.reject(new Error("down")),
      sendBatch: () => Promise.reject(new Error("down")),
    };
    Object.assign(instance, { env: { ...env, AUDIT_QUEUE: refusing } });
  });
}

describe("claim shard event watermark", () => {
  it("an event stored after restart is sent, even when an event-less write raised sentThrough above every remaining seq", async () => {
    // The legacy (0.7) shards see exactly this mix during CLAIM_LEGACY_UNTIL: blockLegacy's
    // event-less reserve + long lookup, and 0.7 codes redeemed there with a retrieval event.
    vi.useFakeTimers({ toFake: ["Date"] });
    const k = Math.floor(Date.now() / H) + 1;
    vi.setSystemTime(k * H + H - 120_000); // two minutes before an hour edge
    let stub = shard("watermark");
    const now = Date.now();
    const sent = eventOf(AuditEventName.PAYLOAD_RETRIEVED);
    await stub.reserve("a", now + 60_000); // a 0.7-issued code, expiring this hour
    expect((await stub.lookup(settings, "long", "a", "live", sent)).outcome).toBe("retrieved"); // seq 1
    expect(await stub.reserve("b", now + 300_000)).toBe(true); // blockLegacy: next hour's table, no event
    await runDurableObjectAlarm(stub); // seq 1 sent: sentSeq = 1 (memory only)
    expect((await stub.lookup(settings, "long", "b", "live")).outcome).toBe("retrieved"); // b.sentThrough = 1, no seq
    vi.setSystemTime((k + 1) * H + 1_000);
    await runDurableObjectAlarm(stub); // this hour's table (the only one with a seq) is dropped
    stub = await restart(stub); // nextSeq = max(seq)+1 = 1, sentSeq = max(sentThrough) = 1
    await stub.reserve("c", Date.now() + 180_000);
    const lost = eventOf(AuditEventName.PAYLOAD_RETRIEVED);
    expect((await stub.lookup(settings, "long", "c", "live", lost)).outcome).toBe("retrieved");
    const state = await runInDurableObject(stub, (instance) => {
      const i = instance as unknown as { nextSeq: number; sentSeq: number };
      return { nextSeq: i.nextSeq, sentSeq: i.sentSeq };
    });
    // The event got seq nextSeq-1, which the shard already believes sent (<= sentSeq): no alarm sends it.
    await runDurableObjectAlarm(stub);
    vi.useRealTimers();
    await expect(
      waitForTrail((rows) => rows.some((e) => e.id === lost.id), 5_000),
      `nextSeq ${state.nextSeq}, sentSeq ${state.sentSeq}`,
    ).resolves.toBeDefined();
  });

  it("a queue outage with an hour-old table backs off EVENT_RETRY_MS instead of re-arming in the past", async () => {
    const stub = shard("hot-loop");
    await queueDown(stub);
    const expiresAt = Date.now() + 180_000;
    await stub.reserve("x", expiresAt, undefined, eventOf(AuditEventName.CODE_ISSUED));
    vi.useFakeTimers({ toFake: ["Date"] });
    const nextHour = (Math.floor(expiresAt / H) + 1) * H;
    vi.setSystemTime(nextHour + 600_000); // ten minutes into the next hour, queue still down
    await runDurableObjectAlarm(stub);
    const { alarm, now } = await runInDurableObject(stub, async (_i, state) => ({
      alarm: await state.storage.getAlarm(),
      now: Date.now(),
    }));
    // alarm() set the retry (now + 5 s), then armBy(oldest table's hour end + 1 s), 10 minutes in the past.
    expect(alarm).not.toBeNull();
    expect(alarm as number).toBeGreaterThanOrEqual(now + EVENT_RETRY_MS - 1_000);
  });
});

describe("claim shard send", () => {
  it("a queue send that never answers counts as refused: a later event and the alarm do not wait behind it", async () => {
    const stub = shard("stall");
    let calls = 0;
    await runInDurableObject(stub, (instance) => {
      const own = (instance as unknown as { env: Env }).env;
      const stalling = {
        send: own.AUDIT_QUEUE.send.bind(own.AUDIT_QUEUE),
        // The first send never answers (a stalled queue, not a refusing one); later ones go through.
        sendBatch: (messages: Iterable<MessageSendRequest>) =>
          ++calls === 1 ? new Promise<never>(() => {}) : own.AUDIT_QUEUE.sendBatch(messages),
      };
      Object.assign(instance, { env: { ...own, AUDIT_QUEUE: stalling } });
    });
    const a = eventOf(AuditEventName.CODE_ISSUED);
    const b = eventOf(AuditEventName.CODE_ISSUED);
    await stub.reserve("stall-a", Date.now() + 180_000, undefined, a);
    await vi.waitUntil(() => calls === 1, { timeout: 5_000, interval: 10 }); // a's send is the stalled one
    await stub.reserve("stall-b", Date.now() + 180_000, undefined, b);
    await waitForTrail((rows) => [a.id, b.id].every((id) => rows.some((e) => e.id === id)));
    await runDurableObjectAlarm(stub); // returns: nothing is left waiting on the stalled send
    expect(calls).toBeGreaterThanOrEqual(2);
  });
});

describe("guess budget lease", () => {
  it("a shard silent past the lease cannot bring its stale units back through a create's attack check", async () => {
    const keeperName = "review-lease|global";
    const base = budgetSettings(configOf(env));
    const s = { ...base, keeper: keeperName, budget: { ...base.budget, perMinute: 10 } };
    const keeper = env.GUESS_BUDGET.get(env.GUESS_BUDGET.idFromName(keeperName));
    const a = shard("lease-a");
    vi.useFakeTimers({ toFake: ["Date"] });
    expect(await a.reserve("warm", Date.now() + 180_000, s)).toBe(true); // attackOn -> sync: 2 units
    expect((await keeper.usage()).held).toBe(2);
    vi.setSystemTime(Date.now() + 7 * 60_000); // A silent 7 min: the keeper forgets its units
    // Other shards spend the whole minute budget (granted, then reported spent).
    expect((await keeper.grant(s, "shard-b", { held: 0, spent: 0, refused: 0, need: 10, want: 0 })).granted).toBe(10);
    await keeper.grant(s, "shard-b", { held: 0, spent: 10, refused: 0, need: 0, want: 0 });
    expect((await keeper.usage()).spentLastMinute).toBe(10);
    // A create reaches A first: attackOn re-reports the 2 stale units and renews A's lease.
    expect(await a.reserve("create", Date.now() + 180_000, s)).toBe(true);
    let evaluated = 0;
    for (let i = 0; i < 3; i++) {
      const v = await a.lookup(s, "normal", `wrong-${i}`, "absent");
      if (v.outcome === "unknown") evaluated++;
    }
    // Budget 10 per minute, 10 already spent: no further wrong code may be evaluated this minute.
    expect(evaluated).toBe(0);
  });
});
