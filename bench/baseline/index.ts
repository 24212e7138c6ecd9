// Raw-Worker baselines for the benchmark. Each route makes the binding calls its service counterpart
// makes, and nothing else: no router, no validation, no crypto.

import type { QueuedAuditEvent } from "../../common/audit-contract";
import { INSERT_EVENTS, writeEvents } from "../../common/audit-contract";
import { pendingKey } from "../../common/kv-keys.js";

interface BaselineEnv {
  QR_KV: KVNamespace;
  AUDIT_QUEUE: Queue;
  AUDIT_DB: D1Database;
  LOOKUP_LIMITER: RateLimit;
  CREATE_LIMITER: RateLimit;
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

/**
 * The references answer as the service does: its response headers (the API security set, no-store,
 * a request id) and its error body. Locally each header costs CPU in wrangler's proxy and in
 * miniflare's entry Worker, so a reference without them would not be the service's floor. The
 * bench checks at start that these are the service's header names.
 */
function answerAsService(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: {
      "content-type": "application/json",
      "cache-control": "no-store",
      "strict-transport-security": "max-age=15552000; includeSubDomains",
      "cross-origin-resource-policy": "same-origin",
      "x-content-type-options": "nosniff",
      "x-frame-options": "DENY",
      "x-request-id": crypto.randomUUID(),
    },
  });
}

export default {
  async fetch(request: Request, env: BaselineEnv): Promise<Response> {
    const url = new URL(request.url);
    switch (url.pathname) {
      // Lookup hit: limit, read, consume, audit (an event of the real size, written to D1 by `queue`).
      case "/lookup-hit": {
        const { activationCode } = (await request.json()) as { activationCode: string };
        await env.LOOKUP_LIMITER.limit({ key: request.headers.get("cf-connecting-ip") ?? "" });
        const key = pendingKey(activationCode);
        const value = await env.QR_KV.get(key, "arrayBuffer");
        if (!value) return json({ error: "not found" }, 400);
        await env.QR_KV.delete(key);
        await env.AUDIT_QUEUE.send(fakeEvent(), { contentType: "json" });
        return json({ qrCode: new TextDecoder().decode(value) });
      }
      // Lookup miss: a bare KV read.
      case "/lookup-miss": {
        const { activationCode } = (await request.json()) as { activationCode: string };
        const value = await env.QR_KV.get(pendingKey(activationCode));
        return json({ error: value ? "found" : "not found" }, 400);
      }
      // Lookup miss with the binding calls every lookup must make (limit, read, audit), answered as
      // the service answers.
      case "/lookup-miss-calls": {
        const { activationCode } = (await request.json()) as { activationCode: string };
        await env.LOOKUP_LIMITER.limit({ key: request.headers.get("cf-connecting-ip") ?? "" });
        const value = await env.QR_KV.get(pendingKey(activationCode));
        await env.AUDIT_QUEUE.send(fakeEvent(), { contentType: "json" });
        const message = value ? "found" : "No pending QR code matches this activation code.";
        return answerAsService(
          { error: { code: "QR_FALLBACK_NOT_FOUND", message, requestId: crypto.randomUUID() } },
          400,
        );
      }
      // Create with the binding calls every create must make (limit, collision read, write, audit),
      // answered as the service answers.
      case "/create-calls": {
        await request.json(); // a create reads its request (an unread body stalls the connection)
        await env.CREATE_LIMITER.limit({ key: "token" });
        const code = Math.random().toString(36).slice(2, 8);
        await env.QR_KV.get(pendingKey(code));
        await env.QR_KV.put(pendingKey(code), "x".repeat(400), { expirationTtl: 180 });
        await env.AUDIT_QUEUE.send(fakeEvent(), { contentType: "json" });
        return answerAsService({ qrCode: "x".repeat(250), expirationTime: Date.now(), qrFallbackActivationCode: code });
      }
      // Create: a bare KV write with a TTL.
      case "/create": {
        await request.json();
        const code = Math.random().toString(36).slice(2, 8);
        await env.QR_KV.put(pendingKey(code), "x".repeat(400), { expirationTtl: 180 });
        return json({ qrCode: "x", qrFallbackActivationCode: code });
      }
      // Seeds entries for /lookup-hit.
      case "/seed": {
        const codes = (await request.json()) as string[];
        await Promise.all(codes.map((c) => env.QR_KV.put(pendingKey(c), "x".repeat(400), { expirationTtl: 3600 })));
        return json({ seeded: codes.length });
      }
      // Consumer write strategies, timed inside workerd (the clock advances across D1 I/O).
      case "/consumer-writes": {
        const batches = Number(url.searchParams.get("batches") ?? "10");
        const batchSize = Number(url.searchParams.get("batchSize") ?? "100");
        const write = url.searchParams.get("mode") === "single" ? writeEventsOneByOne : writeEvents;
        const started = Date.now();
        for (let b = 0; b < batches; b++) await write(env.AUDIT_DB, Array.from({ length: batchSize }, fakeEvent));
        const ms = Math.max(1, Date.now() - started);
        return json({ events: batches * batchSize, ms, eventsPerSecond: (batches * batchSize * 1000) / ms });
      }
      default:
        return new Response("ready");
    }
  },

  // The bare consumer: the same D1 batch per queue batch as the service's consumer, no validation.
  async queue(batch: MessageBatch<QueuedAuditEvent>, env: BaselineEnv): Promise<void> {
    await writeEvents(
      env.AUDIT_DB,
      batch.messages.map((m) => m.body),
    );
    batch.ackAll();
  },
};

function fakeEvent(): QueuedAuditEvent {
  return {
    id: crypto.randomUUID(),
    version: 1,
    type: "AUDIT",
    eventName: "QR_FALLBACK_PAYLOAD_RETRIEVED",
    message: "QR fallback lookup failed: no pending payload for the code",
    subName: "device/pendingqr",
    eventLoggedBy: "RELYING_PARTY_SERVER",
    eventTimeInUTC: Date.now(),
    tenantId: "bench",
    remoteIP: "203.0.113.0",
    userAgent: "autocannon",
    traceId: crypto.randomUUID(),
    rpAppId: "BenchApp",
    isSuccessful: false,
    errorCode: "QR_FALLBACK_NOT_FOUND",
    errorSeverity: "WARN",
    deviceId: null,
    machineId: null,
    sessionId: null,
    fidoUser: null,
    machineUserName: null,
    additionalDetails: { extras: {} },
  };
}

/** The one-statement-per-event writer the batched one is measured against (bench only). */
async function writeEventsOneByOne(db: D1Database, events: QueuedAuditEvent[]): Promise<void> {
  const insert = db.prepare(INSERT_EVENTS);
  for (const e of events) await insert.bind(`[${JSON.stringify(e)}]`).run();
}
