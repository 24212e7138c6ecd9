import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { QueuedAuditEvent } from "../../common/audit-contract";
import { writeEvents } from "../../common/audit-contract";
import { retryDelaySeconds } from "../../common/audit-retry.js";
import { buildAuditEvent } from "../../src/audit/event";
import consumer from "./index";

function event(rpAppId: string | null = "ConsumerApp") {
  return buildAuditEvent({ tenantId: "t", securityAppId: "QRFallbackSecurity" }, null, {
    eventName: "QR_FALLBACK_PAYLOAD_RETRIEVED",
    message: "m",
    subName: "device/pendingqr",
    rpAppId,
    isSuccessful: false,
    errorCode: "QR_FALLBACK_NOT_FOUND",
  });
}

function messages(bodies: unknown[], attempts = 1) {
  return bodies.map((body, i) => ({ id: `msg-${crypto.randomUUID()}-${i}`, timestamp: new Date(), attempts, body }));
}

async function run(batchBodies: unknown[], consumerEnv: ConsumerEnv = env, attempts = 1) {
  const batch = createMessageBatch("qr-fallback-audit", messages(batchBodies, attempts));
  const ctx = createExecutionContext();
  await consumer.queue(batch, consumerEnv);
  return { batch, result: await getQueueResult(batch, ctx) };
}

async function countRows(id: string): Promise<number> {
  const row = await env.AUDIT_DB.prepare("SELECT count(*) AS n FROM audit_events WHERE id = ?")
    .bind(id)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

describe("audit-consumer", () => {
  it("writes a batch and acknowledges it whole, with one call", async () => {
    const events = [event(), event(), event(null)];
    const { result } = await run(events);
    expect(result.ackAll).toBe(true);
    expect(result.explicitAcks).toHaveLength(0);
    expect(result.retryMessages).toHaveLength(0);
    for (const e of events) expect(await countRows(e.id)).toBe(1);
    const row = await env.AUDIT_DB.prepare("SELECT loggedTimeInUTC, body FROM audit_events WHERE id = ?")
      .bind(events[0].id)
      .first<{ loggedTimeInUTC: number; body: string }>();
    expect(row?.loggedTimeInUTC).toBeGreaterThanOrEqual(events[0].eventTimeInUTC);
    expect(JSON.parse(row?.body as string)).toEqual(events[0]);
    // The indexed columns are typed as the search expects them (they come out of the JSON in SQL).
    const columns = await env.AUDIT_DB.prepare(
      "SELECT id, eventName, rpAppId, eventTimeInUTC, typeof(eventTimeInUTC) AS t, isSuccessful, errorCode FROM audit_events WHERE id = ?",
    )
      .bind(events[2].id)
      .first();
    expect(columns).toEqual({
      id: events[2].id,
      eventName: "QR_FALLBACK_PAYLOAD_RETRIEVED",
      rpAppId: "QRFallbackSecurity",
      eventTimeInUTC: events[2].eventTimeInUTC,
      t: "integer",
      isSuccessful: 0,
      errorCode: "QR_FALLBACK_NOT_FOUND",
    });
  });

  it("writes a batch too large for one statement in several, all in one transaction", async () => {
    const events = Array.from({ length: 7 }, () => event());
    await writeEvents(env.AUDIT_DB, events, JSON.stringify(events[0]).length * 2 + 10);
    for (const e of events) expect(await countRows(e.id)).toBe(1);
    // One transaction: a chunk that fails takes the chunks before it back with it.
    const doomed = [event(), event(), { ...event(), eventName: null } as unknown as QueuedAuditEvent];
    await expect(writeEvents(env.AUDIT_DB, doomed, JSON.stringify(doomed[0]).length * 2 + 10)).rejects.toThrow();
    for (const e of doomed) expect(await countRows(e.id)).toBe(0);
  });

  it("is idempotent on event id: a redelivered message leaves one row", async () => {
    const e = event();
    await run([e]);
    const again = await run([e, e]);
    expect(again.result.ackAll).toBe(true);
    expect(await countRows(e.id)).toBe(1);
  });

  it("acknowledges malformed messages once and records them as rejected, without blocking valid ones", async () => {
    const good = event();
    const withPii = { ...event(), machineUserName: "alice" };
    const { batch, result } = await run([good, "not an event", { id: 1 }, withPii]);
    expect(result.ackAll).toBe(true);
    expect(result.retryMessages).toHaveLength(0);
    expect(await countRows(good.id)).toBe(1);
    expect(await countRows(withPii.id)).toBe(0);
    const rejects = await env.AUDIT_DB.prepare(
      "SELECT messageId, reason FROM audit_rejects WHERE messageId IN (?, ?, ?)",
    )
      .bind(batch.messages[1].id, batch.messages[2].id, batch.messages[3].id)
      .all<{ messageId: string; reason: string }>();
    expect(rejects.results).toHaveLength(3);
    expect(JSON.stringify(rejects.results)).not.toContain("alice");
  });

  it("retries with backoff when D1 fails, and writes nothing half", async () => {
    // The real D1, wrapped so that the batch write throws.
    const failingDb = new Proxy(env.AUDIT_DB, {
      get(target, prop) {
        if (prop === "batch") return () => Promise.reject(new Error("D1 unavailable"));
        return Reflect.get(target, prop).bind(target);
      },
    });
    const events = [event(), event()];
    const { batch, result } = await run(events, { ...env, AUDIT_DB: failingDb }, 3);
    expect(result.ackAll).toBe(false);
    expect(result.explicitAcks).toHaveLength(0);
    // (The test pool records which messages were retried, not their delay: retryDelaySeconds is tested below.)
    expect(result.retryMessages.map((m: { msgId: string }) => m.msgId).sort()).toEqual(
      batch.messages.map((m) => m.id).sort(),
    );
    for (const e of events) expect(await countRows(e.id)).toBe(0);
  });

  it("when D1 fails, retries the valid messages and still acknowledges the malformed ones", async () => {
    const failingDb = new Proxy(env.AUDIT_DB, {
      get(target, prop) {
        if (prop === "batch") return () => Promise.reject(new Error("D1 unavailable"));
        return Reflect.get(target, prop).bind(target);
      },
    });
    const good = event();
    const { batch, result } = await run([good, "not an event"], { ...env, AUDIT_DB: failingDb }, 2);
    expect(result.ackAll).toBe(false);
    expect(result.retryMessages.map((m: { msgId: string }) => m.msgId)).toEqual([batch.messages[0].id]);
    expect(result.explicitAcks).toEqual([batch.messages[1].id]);
    expect(await countRows(good.id)).toBe(0);
  });

  it("backs off exponentially up to its cap", () => {
    expect([1, 2, 3, 4, 8, 20].map((n) => retryDelaySeconds(n, 60))).toEqual([2, 4, 8, 16, 60, 60]);
  });
});
