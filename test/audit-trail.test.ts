import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { KV_PREFIXES } from "../common/kv-keys.js";
import { SEND_TIMEOUT_MS } from "../src/audit/hand-off";
import worker from "../src/index";
import {
  call,
  createRegistration,
  lookup,
  mintToken,
  refusedCount,
  waitForTrail,
  writeRefusalSummaries,
} from "./helpers";

describe("audit events reach the trail through the real queue and consumer", () => {
  it("records issuance and lookup of one code, correlated by fallbackId, PII-free", async () => {
    const token = await mintToken("TrailApp");
    const { json } = await createRegistration(token, { username: "alice-trail" });
    const code = json.qrFallbackActivationCode as string;
    expect((await lookup(code, "203.0.113.77")).status).toBe(200);
    expect((await lookup(code, "2001:db8:abcd:12::9")).status).toBe(400);

    const rows = await waitForTrail(
      (r) => r.filter((e) => e.rpAppId === "TrailApp").length >= 2 && r.some((e) => e.remoteIP === "2001:db8:abcd::"),
    );
    const mine = rows.filter((e) => e.rpAppId === "TrailApp");
    const issued = mine.find((e) => e.eventName === "QR_FALLBACK_CODE_ISSUED");
    const retrieved = mine.find((e) => e.eventName === "QR_FALLBACK_PAYLOAD_RETRIEVED" && e.isSuccessful);
    expect(issued?.additionalDetails.extras.fallbackId).toMatch(/^[0-9a-f-]{36}$/);
    expect(retrieved?.additionalDetails.extras.fallbackId).toBe(issued?.additionalDetails.extras.fallbackId);
    expect(retrieved).toMatchObject({ remoteIP: "203.0.113.0", errorCode: null, subName: "device/pendingqr" });

    // The second lookup of a used code belongs to no app: it is an unknown code now.
    const failed = rows.find((e) => e.eventName === "QR_FALLBACK_PAYLOAD_RETRIEVED" && !e.isSuccessful);
    expect(failed).toMatchObject({
      rpAppId: "QRFallbackSecurity",
      errorCode: "QR_FALLBACK_NOT_FOUND",
      remoteIP: "2001:db8:abcd::",
    });

    const text = JSON.stringify(rows);
    for (const secret of [code, JSON.parse(json.qrCode).pin, "alice-trail", token]) expect(text).not.toContain(secret);
    for (const e of rows) {
      expect([e.deviceId, e.machineId, e.sessionId, e.fidoUser, e.machineUserName]).toEqual([
        null,
        null,
        null,
        null,
        null,
      ]);
      expect(e.loggedTimeInUTC).toBeGreaterThanOrEqual(e.eventTimeInUTC);
    }
  });

  it("summarizes lookups refused before any code is read: malformed body, bad content type, oversize", async () => {
    const ip = "192.0.2.50";
    await call("POST", "/rp/versioned/device/pendingqr", { rawBody: "{oops", ip, via: "handler" });
    await call("POST", "/rp/versioned/device/pendingqr", {
      rawBody: "{}",
      headers: { "Content-Type": "text/plain" },
      ip,
      via: "handler",
    });
    await call("POST", "/rp/versioned/device/pendingqr", { rawBody: "x".repeat(20_000), ip, via: "handler" });
    await writeRefusalSummaries("192.0.2.0/24");
    const rows = await waitForTrail((r) => refusedCount(r, "192.0.2.0") >= 3);
    const fromNetwork = rows.filter((e) => e.remoteIP === "192.0.2.0");
    expect(fromNetwork.map((e) => e.eventName)).toEqual(Array(3).fill("QR_FALLBACK_LOOKUPS_REFUSED"));
    for (const code of ["INVALID_REQUEST", "PAYLOAD_TOO_LARGE", "UNSUPPORTED_MEDIA_TYPE"]) {
      expect(refusedCount(rows, "192.0.2.0", code)).toBe(1);
    }
  });
});

describe("the producer loses nothing when the queue fails", () => {
  it("puts the event in the KV outbox, and the cron drain delivers it once", async () => {
    let attempts = 0;
    // The real queue, wrapped so that every send throws.
    const failingQueue = new Proxy(env.AUDIT_QUEUE, {
      get(target, prop) {
        if (prop === "send" || prop === "sendBatch") {
          return () => {
            attempts++;
            return Promise.reject(new Error("queue unavailable"));
          };
        }
        return Reflect.get(target, prop).bind(target);
      },
    });
    // `env` makes the helper call the Worker's handler directly and wait for its waitUntil work.
    const res = await lookup("nosuch", "198.51.100.200", { env: { ...env, AUDIT_QUEUE: failingQueue } });
    expect(res.status).toBe(400);
    expect(attempts).toBe(2); // the inline send and one background retry
    const outbox = await env.QR_KV.list({ prefix: KV_PREFIXES.outbox });
    expect(outbox.keys).toHaveLength(1);

    // The cron trigger drains the outbox into the (working) queue.
    const cronCtx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: "* * * * *" }), env, cronCtx);
    await waitOnExecutionContext(cronCtx);
    expect((await env.QR_KV.list({ prefix: KV_PREFIXES.outbox })).keys).toHaveLength(0);
    const rows = await waitForTrail((r) => r.some((e) => e.remoteIP === "198.51.100.0"));
    expect(rows.filter((e) => e.remoteIP === "198.51.100.0")).toHaveLength(1);
  });

  it("a stalled queue holds up no answer and loses nothing: the outbox takes the event, the trail holds it once", async () => {
    let released = false;
    let sends = 0;
    // The real queue, wrapped so that the first send (a batch) stalls past the hand-off's timeout, then lands.
    const slowQueue = new Proxy(env.AUDIT_QUEUE, {
      get(target, prop) {
        if (prop === "sendBatch") {
          return async (messages: Iterable<MessageSendRequest>, opts?: QueueSendBatchOptions) => {
            if (++sends === 1) {
              await vi.waitUntil(() => released, { timeout: 30_000, interval: 50 });
            }
            return target.sendBatch(messages, opts);
          };
        }
        return Reflect.get(target, prop).bind(target);
      },
    });
    const ctx = createExecutionContext();
    const request = new Request("https://qr.test/rp/versioned/device/pendingqr", {
      method: "POST",
      headers: { "Content-Type": "application/json", "CF-Connecting-IP": "198.18.77.202" },
      body: JSON.stringify({ activationCode: "stalls" }),
    });
    // The answer is there before the (batched, AUDIT_BATCH_MS) send, which then stalls.
    const res = await worker.fetch(request, { ...env, AUDIT_QUEUE: slowQueue }, ctx);
    expect(res.status).toBe(400);
    await vi.waitUntil(() => sends >= 1, { timeout: 5_000, interval: 10 });
    expect(sends).toBe(1);
    // Past the timeout the event is in the outbox (and one more send went through in the background).
    await vi.waitUntil(() => sends >= 2, { timeout: SEND_TIMEOUT_MS + 5_000, interval: 50 });
    released = true;
    await waitOnExecutionContext(ctx);
    const rows = await waitForTrail((r) => r.some((e) => e.traceId === res.headers.get("x-request-id")));
    // The stalled send landed too: the trail still holds the event once.
    expect(sends).toBe(2);
    expect(rows.filter((e) => e.traceId === res.headers.get("x-request-id"))).toHaveLength(1);
    expect((await env.QR_KV.list({ prefix: KV_PREFIXES.outbox })).keys).toHaveLength(0);
  });

  it("when only the first send fails, the background retry delivers and clears the outbox", async () => {
    let sends = 0;
    const flakyQueue = new Proxy(env.AUDIT_QUEUE, {
      get(target, prop) {
        if (prop === "sendBatch") {
          return (messages: Iterable<MessageSendRequest>, opts?: QueueSendBatchOptions) =>
            ++sends === 1 ? Promise.reject(new Error("blip")) : target.sendBatch(messages, opts);
        }
        return Reflect.get(target, prop).bind(target);
      },
    });
    const res = await lookup("nosuch", "198.18.78.201", { env: { ...env, AUDIT_QUEUE: flakyQueue } });
    expect(sends).toBe(2);
    expect((await env.QR_KV.list({ prefix: KV_PREFIXES.outbox })).keys).toHaveLength(0);
    const traceId = res.headers.get("x-request-id");
    const rows = await waitForTrail((r) => r.some((e) => e.traceId === traceId));
    expect(rows.filter((e) => e.traceId === traceId)).toHaveLength(1);
  });
});
