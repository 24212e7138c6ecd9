// The references for the benchmark: raw Worker routes that do what the spec requires of each answer
// (`*-calls`: what the throughput budgets compare against): its binding calls, and the computation
// it requires done the plainest way: the §5 crypto (one HMAC-SHA-256 for the KV key, one HKDF
// derivation and one AES-256-GCM seal or open per code), and on a create the token's SHA-256 (§7),
// a CSPRNG code by rejection sampling (§4) and the QR payload with its 256-bit pin. `?calls-only`
// leaves that computation out (printed as context), as do the bare one-call routes. No router, no
// validation.
import { DurableObject } from "cloudflare:workers";

import type { QueuedAuditEvent } from "../../common/audit-contract";
import { INSERT_EVENTS, newEventId, writeEvents } from "../../common/audit-contract";
import { pendingKey } from "../../common/kv-keys.js";

interface BaselineEnv {
  QR_KV: KVNamespace;
  AUDIT_QUEUE: Queue;
  AUDIT_DB: D1Database;
  LOOKUP_LIMITER: RateLimit;
  NETWORK_LOOKUP_LIMITER: RateLimit;
  CREATE_LIMITER: RateLimit;
  CLAIMS: DurableObjectNamespace<Claims>;
  LEDGER: DurableObjectNamespace<Ledger>;
}

/** As the bench runs the service (QR_TTL_SECONDS): no claim expires while the bench runs. */
const CODE_TTL_SECONDS = 600;

/**
 * A code's single-use claim (what CodeClaims must do at least): one SQLite row per code, expiring
 * with it, and an alarm that deletes expired claims (claims must not outlive their codes).
 */
export class Claims extends DurableObject {
  private readonly sql = this.ctx.storage.sql;
  private alarmSet = false;
  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env as never);
    this.sql.exec(
      "CREATE TABLE IF NOT EXISTS claims (id TEXT PRIMARY KEY, expiresAt INTEGER NOT NULL, redeemed INTEGER NOT NULL)",
    );
  }
  async reserve(id: string): Promise<boolean> {
    const expiresAt = Date.now() + CODE_TTL_SECONDS * 1000;
    const won =
      this.sql.exec("INSERT INTO claims VALUES (?, ?, 0) ON CONFLICT DO NOTHING RETURNING id", id, expiresAt).toArray()
        .length === 1;
    if (!this.alarmSet) {
      this.alarmSet = true;
      await this.ctx.storage.setAlarm(expiresAt + 1000);
    }
    return won;
  }
  async alarm(): Promise<void> {
    this.sql.exec("DELETE FROM claims WHERE expiresAt <= ?", Date.now());
    const next = this.sql.exec<{ t: number | null }>("SELECT min(expiresAt) AS t FROM claims").one().t;
    this.alarmSet = next !== null;
    if (next !== null) await this.ctx.storage.setAlarm(next + 1000);
  }
  async redeem(id: string): Promise<boolean> {
    return (
      this.sql.exec("UPDATE claims SET redeemed = 1 WHERE id = ? AND redeemed = 0 RETURNING id", id).toArray()
        .length === 1
    );
  }
}

/** A network's failure count (what the daily caps must do at least): one SQLite upsert per failure. */
export class Ledger extends DurableObject {
  private readonly sql = this.ctx.storage.sql;
  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env as never);
    this.sql.exec("CREATE TABLE IF NOT EXISTS failures (subject TEXT PRIMARY KEY, n INTEGER NOT NULL)");
  }
  async count(subject: string): Promise<number> {
    return this.sql
      .exec<{ n: number }>(
        "INSERT INTO failures VALUES (?, 1) ON CONFLICT DO UPDATE SET n = n + 1 RETURNING n",
        subject,
      )
      .one().n;
  }
}

/** Sharded as the service shards its claims (CLAIM_SHARDS "64"): 64 objects, by a uniformly spread character. */
const SHARD_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
function claimsOf(env: BaselineEnv, code: string) {
  let h = 0;
  for (let i = 0; i < code.length; i++) h = (Math.imul(h, 31) + code.charCodeAt(i)) >>> 0;
  const shard = SHARD_ALPHABET[h & 63];
  return env.CLAIMS.get(env.CLAIMS.idFromName(`claims:${shard}`));
}
const networkOf = (request: Request) =>
  (request.headers.get("cf-connecting-ip") ?? "").split(".").slice(0, 3).join(".");

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

/**
 * SPEC §5 at its plainest: the KV key is base64url(HMAC-SHA-256(index key, code)); the value is
 * iv ‖ AES-256-GCM(HKDF(secret, code), entry), bound to the key. Keys are imported once per isolate.
 * `calls-only` (context only) keys the entry by the code itself and stores it in clear.
 */
const enc = new TextEncoder();
const BENCH_SECRET = enc.encode("bench-reference-secret-0123456789abcdef");
let keys: { index: CryptoKey; root: CryptoKey } | undefined;
async function keysOf() {
  if (!keys) {
    const root = await crypto.subtle.importKey("raw", BENCH_SECRET, "HKDF", false, ["deriveKey"]);
    const index = await crypto.subtle.importKey("raw", BENCH_SECRET, { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
    ]);
    keys = { index, root };
  }
  return keys;
}
async function indexIdOf(code: string, withCrypto: boolean): Promise<string> {
  if (!withCrypto) return code;
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", (await keysOf()).index, enc.encode(code)));
  return btoa(String.fromCharCode(...mac))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
}
async function payloadKeyOf(code: string): Promise<CryptoKey> {
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(), info: enc.encode(`payload/${code}`) },
    (await keysOf()).root,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}
interface Entry {
  qrCode: string;
  expiresAt: number;
}
async function sealEntry(code: string, indexId: string, entry: Entry, withCrypto: boolean): Promise<ArrayBuffer> {
  const plain = enc.encode(JSON.stringify(entry));
  if (!withCrypto) return plain.buffer as ArrayBuffer;
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: enc.encode(indexId) },
      await payloadKeyOf(code),
      plain,
    ),
  );
  const out = new Uint8Array(12 + ct.byteLength);
  out.set(iv);
  out.set(ct, 12);
  return out.buffer;
}
async function openEntry(code: string, indexId: string, sealed: ArrayBuffer, withCrypto: boolean): Promise<Entry> {
  if (!withCrypto) return JSON.parse(new TextDecoder().decode(sealed));
  const plain = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: new Uint8Array(sealed, 0, 12), additionalData: enc.encode(indexId) },
    await payloadKeyOf(code),
    new Uint8Array(sealed, 12),
  );
  return JSON.parse(new TextDecoder().decode(plain));
}

/** Token records by SHA-256, in isolate memory as the service caches them (the bench's token is unknown here). */
const tokens = new Map<string, string>();
const hex = (bytes: ArrayBuffer | Uint8Array) =>
  Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
const sha256Hex = async (text: string) => hex(await crypto.subtle.digest("SHA-256", enc.encode(text)));

/** SPEC §4: six letters from the CSPRNG, each exactly uniform (bytes at or over 234 are redrawn). */
function drawCode(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz";
  let code = "";
  while (code.length < 6) {
    for (const byte of crypto.getRandomValues(new Uint8Array(12))) {
      if (byte < 234 && code.length < 6) code += alphabet[byte % 26];
    }
  }
  return code;
}

/** The registration QR's text (the vendor's shape): a session id, a 256-bit pin, the code. */
function registrationQr(activationCode: string, expiresAt: number): string {
  return JSON.stringify({
    version: 1,
    type: "REGISTRATION",
    rpAppId: "BenchApp",
    rpUrl: "https://qr.example.com",
    sessionId: crypto.randomUUID(),
    pin: hex(crypto.getRandomValues(new Uint8Array(32))),
    expiresAt,
    activationCode,
  });
}

export default {
  async fetch(request: Request, env: BaselineEnv, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(request.url);
    const withCrypto = !url.searchParams.has("calls-only");
    switch (url.pathname) {
      // What a lookup hit must do: both rate limits, the code's KV key, the read, the payload's
      // opening and expiry check, the claim's single redemption (before answering); the entry's
      // deletion and the audit hand-off after the answer.
      case "/lookup-hit-calls": {
        const { activationCode } = (await request.json()) as { activationCode: string };
        await Promise.all([
          env.LOOKUP_LIMITER.limit({ key: request.headers.get("cf-connecting-ip") ?? "" }),
          env.NETWORK_LOOKUP_LIMITER.limit({ key: networkOf(request) }),
        ]);
        const indexId = await indexIdOf(activationCode, withCrypto);
        const key = pendingKey(indexId);
        const sealed = await env.QR_KV.get(key, "arrayBuffer");
        if (!sealed) return json({ error: "not found" }, 400);
        const entry = await openEntry(activationCode, indexId, sealed, withCrypto);
        if (entry.expiresAt <= Date.now() || !(await claimsOf(env, indexId).redeem(indexId)))
          return json({ error: "not found" }, 400);
        ctx.waitUntil(env.QR_KV.delete(key));
        ctx.waitUntil(env.AUDIT_QUEUE.send(fakeEvent(), { contentType: "json" }));
        return answerAsService({ qrCode: entry.qrCode });
      }
      // Context only (the bench before 0.3 budgeted against it): limit, read, consume, audit.
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
      // Context only: a bare KV read.
      case "/lookup-miss": {
        const { activationCode } = (await request.json()) as { activationCode: string };
        const value = await env.QR_KV.get(pendingKey(activationCode));
        return json({ error: value ? "found" : "not found" }, 400);
      }
      // What a lookup miss must do: both rate limits, the code's KV key and the read, and the
      // deployment-wide budget's strongly consistent charge (SPEC §9: one call to the code's
      // object) before answering; the network's failure count and the audit hand-off after it.
      // Answered as the service answers.
      case "/lookup-miss-calls": {
        const { activationCode } = (await request.json()) as { activationCode: string };
        await Promise.all([
          env.LOOKUP_LIMITER.limit({ key: request.headers.get("cf-connecting-ip") ?? "" }),
          env.NETWORK_LOOKUP_LIMITER.limit({ key: networkOf(request) }),
        ]);
        const indexId = await indexIdOf(activationCode, withCrypto);
        const value = await env.QR_KV.get(pendingKey(indexId));
        await claimsOf(env, indexId).redeem(indexId);
        ctx.waitUntil(env.LEDGER.get(env.LEDGER.idFromName(networkOf(request))).count("client"));
        ctx.waitUntil(env.AUDIT_QUEUE.send(fakeEvent(), { contentType: "json" }));
        const message = value ? "found" : "No pending QR code matches this activation code.";
        return answerAsService(
          { error: { code: "QR_FALLBACK_NOT_FOUND", message, requestId: crypto.randomUUID() } },
          400,
        );
      }
      // What a create must do: the token's hash (§7) and rate limit, a CSPRNG code (§4), its KV key
      // and claim, the QR payload with its pin, the sealed payload's write before answering; the
      // audit hand-off after it. Answered as the service answers.
      case "/create-calls": {
        await request.json(); // a create reads its request (an unread body stalls the connection)
        const token = (request.headers.get("authorization") ?? "").slice("Bearer ".length);
        const tokenId = withCrypto ? (tokens.get(await sha256Hex(token)) ?? "unknown") : "token";
        await env.CREATE_LIMITER.limit({ key: `token:${tokenId}` });
        // A code a live claim holds is drawn again, as the service does (two live codes never share a value).
        let code: string;
        let indexId: string;
        do {
          code = withCrypto ? drawCode() : Math.random().toString(36).slice(2, 8);
          indexId = await indexIdOf(code, withCrypto);
        } while (!(await claimsOf(env, indexId).reserve(indexId)));
        const expiresAt = Date.now() + CODE_TTL_SECONDS * 1000;
        const qrCode = withCrypto ? registrationQr(code, expiresAt) : "x".repeat(250);
        const entry = { qrCode, expiresAt, fallbackId: crypto.randomUUID() };
        const sealed = await sealEntry(code, indexId, entry, withCrypto);
        await env.QR_KV.put(pendingKey(indexId), sealed, { expirationTtl: CODE_TTL_SECONDS });
        ctx.waitUntil(env.AUDIT_QUEUE.send(fakeEvent(), { contentType: "json" }));
        return answerAsService({
          qrCode,
          expirationTime: expiresAt,
          qrFallbackActivationCode: code,
          activationCode: code,
        });
      }
      // Context only: a bare KV write with a TTL.
      case "/create": {
        await request.json();
        const code = Math.random().toString(36).slice(2, 8);
        await env.QR_KV.put(pendingKey(code), "x".repeat(400), { expirationTtl: CODE_TTL_SECONDS });
        return json({ qrCode: "x", qrFallbackActivationCode: code });
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

  // The bare consumer (run by a second Worker, consumer.wrangler.toml): the same D1 batch per queue
  // batch as the service's consumer, no validation.
  async queue(batch: MessageBatch<QueuedAuditEvent>, env: BaselineEnv): Promise<void> {
    await writeEvents(
      env.AUDIT_DB,
      batch.messages.map((m) => m.body),
    );
    batch.ackAll();
  },
};

function fakeEvent(): QueuedAuditEvent {
  const now = Date.now();
  return {
    id: newEventId(now),
    version: 1,
    type: "AUDIT",
    eventName: "QR_FALLBACK_PAYLOAD_RETRIEVED",
    message: "QR fallback lookup failed: no pending payload for the code",
    subName: "device/pendingqr",
    eventLoggedBy: "RELYING_PARTY_SERVER",
    eventTimeInUTC: now,
    tenantId: "bench",
    remoteIP: "203.0.113.0",
    userAgent: "qr-fallback-bench",
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
