import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { QueuedAuditEvent } from "../common/audit-contract";
import { AuditEventName } from "../common/audit-contract";
import { KV_PREFIXES } from "../common/kv-keys.js";
import { buildAuditEvent } from "../src/audit/event";
import { AuditSendBatcher } from "../src/audit/send-batcher";
import worker from "../src/index";
import { BASE, waitForTrail } from "./helpers";

/** The real queue, wrapped to count what reaches it: calls of each kind and the event ids sent. */
function countingQueue() {
  const seen = { send: 0, sendBatch: 0, ids: [] as string[] };
  const queue = new Proxy(env.AUDIT_QUEUE, {
    get(target, prop) {
      if (prop === "send") {
        return (body: QueuedAuditEvent, opts?: QueueSendOptions) => {
          seen.send++;
          seen.ids.push(body.id);
          return target.send(body, opts);
        };
      }
      if (prop === "sendBatch") {
        return (messages: Iterable<MessageSendRequest<QueuedAuditEvent>>, opts?: QueueSendBatchOptions) => {
          const list = [...messages];
          seen.sendBatch++;
          seen.ids.push(...list.map((m) => m.body.id));
          return target.sendBatch(list, opts);
        };
      }
      return Reflect.get(target, prop).bind(target);
    },
  });
  return { queue, seen };
}

const missFrom = (ip: string) =>
  new Request(`${BASE}/rp/versioned/device/pendingqr`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "CF-Connecting-IP": ip },
    body: JSON.stringify({ activationCode: "nosuch" }),
  });

describe("requests' audit events go to the queue in batches (AUDIT_BATCH_MS)", () => {
  it("twenty concurrent lookups make a few sendBatch calls, and every event reaches the trail once", async () => {
    const { queue, seen } = countingQueue();
    const batchedEnv = { ...env, AUDIT_QUEUE: queue, AUDIT_BATCH_MS: "200" } as Env;
    const answers = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const ctx = createExecutionContext();
        const res = await worker.fetch(missFrom(`198.18.90.${i + 1}`), batchedEnv, ctx);
        return { res, ctx };
      }),
    );
    for (const { res } of answers) expect(res.status).toBe(400);
    await Promise.all(answers.map(({ ctx }) => waitOnExecutionContext(ctx)));
    // One send per event would be 20 calls; the linger gathers them (the requests run within it).
    expect(seen.send).toBe(0);
    expect(seen.sendBatch).toBeGreaterThanOrEqual(1);
    expect(seen.sendBatch).toBeLessThanOrEqual(3);
    expect(seen.ids).toHaveLength(20);
    expect(new Set(seen.ids).size).toBe(20);
    const traceIds = new Set(answers.map(({ res }) => res.headers.get("x-request-id")));
    const rows = await waitForTrail((r) => r.filter((e) => traceIds.has(e.traceId)).length >= 20);
    expect(rows.filter((e) => traceIds.has(e.traceId))).toHaveLength(20);
    expect((await env.QR_KV.list({ prefix: KV_PREFIXES.outbox })).keys).toHaveLength(0);
  });

  it("a drain past its bound hands over to the next event's request; every event is sent once", async () => {
    const { queue, seen } = countingQueue();
    const MAX_DRAIN_MS = 60;
    const batcher = new AuditSendBatcher(queue, MAX_DRAIN_MS);
    const drains: Promise<unknown>[] = [];
    const sent: string[] = [];
    const started = Date.now();
    // Events keep coming for several bounds' worth of time, 5 ms apart (a pace, not a wait on anything).
    while (Date.now() - started < 5 * MAX_DRAIN_MS) {
      const event = buildAuditEvent({ tenantId: "t", securityAppId: "sec" }, null, {
        eventName: AuditEventName.PAYLOAD_RETRIEVED,
        message: "batched",
        subName: "device/pendingqr",
        rpAppId: null,
        isSuccessful: false,
        errorCode: "QR_FALLBACK_NOT_FOUND",
      });
      sent.push(event.id);
      batcher.add(event, { kv: env.QR_KV, lingerMs: 10 }, (p) => drains.push(p));
      await scheduler.wait(5);
    }
    // Each drain runs in the waitUntil of the request that started it; wait for all of them.
    for (let settled = 0; settled < drains.length; ) {
      const n = drains.length;
      await Promise.all(drains.slice(settled));
      settled = n;
    }
    // More than one drain: the first stepped aside at its bound, and the next event started another.
    expect(drains.length).toBeGreaterThanOrEqual(3);
    expect(seen.ids.sort()).toEqual(sent.sort());
    expect(seen.sendBatch).toBeLessThan(sent.length);
  });
});
