// A redemption and its retrieval event are one durable fact: the claim's shard stores the event in
// the step that redeems the code and sends it itself. Here the isolate "stops right after answering":
// its own audit hand-off never happens (the queue binding it was given drops every send), as when the
// runtime is stopped between the answer and the send.
import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import worker from "../src/index";
import harness from "./harness-worker";
import { call, createRegistration, lookup, mintToken, waitForTrail } from "./helpers";

/** The real queue binding, whose sends from this isolate never leave it. */
const droppingQueue = new Proxy(env.AUDIT_QUEUE, {
  get: (target, key) => (key === "send" || key === "sendBatch" ? async () => {} : Reflect.get(target, key)),
});

/**
 * A request whose isolate stops right after answering: its background work never completes (the
 * queue send it started never returns, nothing after it runs).
 */
async function stoppedAfterAnswering(method: string, path: string, token: string, body?: unknown): Promise<Response> {
  const hangingQueue = new Proxy(env.AUDIT_QUEUE, {
    get: (target, key) =>
      key === "send" || key === "sendBatch" ? () => new Promise(() => {}) : Reflect.get(target, key),
  });
  const ctx = { waitUntil: () => {}, passThroughOnException: () => {}, props: {} } as unknown as ExecutionContext;
  const request = new Request(`https://qr.test${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
      "cf-connecting-ip": "198.51.100.7",
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return worker.fetch(request, { ...env, AUDIT_QUEUE: hangingQueue }, ctx);
}

describe("audit events are durable at the source", () => {
  it("every lookup answered 200 has its retrieval event though the isolate's hand-off is lost", async () => {
    const token = await mintToken("DurableApp");
    const served: string[] = [];
    for (let i = 0; i < 6; i++) {
      const { json } = await createRegistration(token);
      const code = json.qrFallbackActivationCode as string;
      const res = await lookup(code, `203.0.113.${40 + i}`, { env: { ...env, AUDIT_QUEUE: droppingQueue } });
      expect(res.status).toBe(200);
      served.push(code);
    }
    const rows = await waitForTrail(
      (r) => r.filter((e) => e.rpAppId === "DurableApp" && e.eventName === "QR_FALLBACK_PAYLOAD_RETRIEVED").length >= 6,
    );
    const issued = rows.filter((e) => e.rpAppId === "DurableApp" && e.eventName === "QR_FALLBACK_CODE_ISSUED");
    const retrieved = rows.filter((e) => e.rpAppId === "DurableApp" && e.eventName === "QR_FALLBACK_PAYLOAD_RETRIEVED");
    // One success per redeemed code, correlated with its issuance, none twice.
    expect(retrieved).toHaveLength(6);
    expect(retrieved.every((e) => e.isSuccessful && e.subName === "device/pendingqr")).toBe(true);
    expect(new Set(retrieved.map((e) => e.additionalDetails.extras.fallbackId))).toEqual(
      new Set(issued.map((e) => e.additionalDetails.extras.fallbackId)),
    );
    expect(retrieved.map((e) => e.remoteIP)).toEqual(served.map(() => "203.0.113.0"));
    // The codes are used up: the redemption happened with the event, not without it.
    for (const code of served) expect((await lookup(code, "203.0.113.99")).status).toBe(400);
  });

  it("every create answered 200 has its issuance event though the isolate's hand-off is lost", async () => {
    const token = await mintToken("DurableIssueApp");
    const issuedIds: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await call("POST", "/rp/versioned/client/qr/create", {
        token,
        body: { username: "alice", includeQRFallbackCode: true },
        env: { ...env, AUDIT_QUEUE: droppingQueue },
      });
      expect(res.status).toBe(200);
      issuedIds.push(res.headers.get("x-request-id") as string);
    }
    const rows = await waitForTrail(
      (r) => r.filter((e) => e.rpAppId === "DurableIssueApp" && e.eventName === "QR_FALLBACK_CODE_ISSUED").length >= 5,
    );
    const issued = rows.filter((e) => e.rpAppId === "DurableIssueApp" && e.eventName === "QR_FALLBACK_CODE_ISSUED");
    // One event per create, each with its own request's trace id and fallback id, none twice.
    expect(issued.map((e) => e.traceId).sort()).toEqual([...issuedIds].sort());
    expect(new Set(issued.map((e) => e.additionalDetails.extras.fallbackId)).size).toBe(5);
    expect(issued.every((e) => e.isSuccessful && e.subName === "client/qr/create")).toBe(true);
  });

  it("an administrator's change and its event are one fact: the minute cron sends what a stopped isolate left", async () => {
    const admin = await mintToken("ops", true);
    const put = await stoppedAfterAnswering("PUT", "/cc/api/application/DurableSettingsApp/qrfallback", admin, {
      enabled: false,
    });
    expect(put.status).toBe(200);
    const made = await stoppedAfterAnswering("POST", "/cc/api/tokens", admin, {
      rpAppId: "DurableSettingsApp",
      scopes: ["qr:create"],
    });
    expect(made.status).toBe(201);
    const { id } = (await made.json()) as { id: string };
    expect((await stoppedAfterAnswering("DELETE", `/cc/api/tokens/${id}`, admin)).status).toBe(204);
    // The isolate's sends were lost; the events wait in the control database's outbox.
    const kept = await env.CONTROL_DB.prepare("SELECT count(*) AS n FROM audit_outbox").first<{ n: number }>();
    expect(kept?.n).toBe(3);
    // The cron sends what isolates left (rows older than 10 s: the isolate's own send had its chance).
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      vi.setSystemTime(Date.now() + 11_000);
      const ctx = { waitUntil: () => {}, passThroughOnException: () => {} } as unknown as ExecutionContext;
      await harness.scheduled(createScheduledController({ cron: "* * * * *" }), env, ctx);
    } finally {
      vi.useRealTimers();
    }
    const rows = await waitForTrail((r) => r.filter((e) => e.rpAppId === "DurableSettingsApp").length >= 3);
    expect(
      rows
        .filter((e) => e.rpAppId === "DurableSettingsApp")
        .map((e) => e.eventName)
        .sort(),
    ).toEqual(["QR_FALLBACK_SETTINGS_CHANGED", "QR_FALLBACK_TOKEN_CREATED", "QR_FALLBACK_TOKEN_REVOKED"]);
    expect((await env.CONTROL_DB.prepare("SELECT count(*) AS n FROM audit_outbox").first<{ n: number }>())?.n).toBe(0);
  });

  it("concurrent settings changes: each event's before is what it replaced, so the trail adds up to the state", async () => {
    const admin = await mintToken("ops", true);
    const path = "/cc/api/application/RaceApp/qrfallback";
    // A 503 says "try again" (the change kept being overtaken, or the controls could not be read under
    // the suite's load): the admin does, once, as a client would.
    const put = async (body: object) => {
      const first = await call("PUT", path, { token: admin, body });
      return first.status === 503 ? call("PUT", path, { token: admin, body }) : first;
    };
    const answers = await Promise.all([put({ enabled: false }), put({ qrTtlSeconds: 120 }), put({ enabled: true })]);
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200]);
    const rows = await waitForTrail(
      (r) => r.filter((e) => e.rpAppId === "RaceApp" && e.eventName === "QR_FALLBACK_SETTINGS_CHANGED").length >= 2,
    );
    const changes = rows.filter((e) => e.rpAppId === "RaceApp" && e.eventName === "QR_FALLBACK_SETTINGS_CHANGED");
    // Replaying the events from the unset state, in the order they chain, gives the stored state.
    let state: unknown = { enabled: null, qrTtlSeconds: null, rpUrl: null };
    const left = [...changes];
    while (left.length) {
      const next = left.findIndex(
        (e) => JSON.stringify(e.additionalDetails.extras.settingsBefore) === JSON.stringify(state),
      );
      expect(next).toBeGreaterThanOrEqual(0);
      state = left.splice(next, 1)[0].additionalDetails.extras.settingsAfter;
    }
    const stored = (await (await call("GET", path, { token: admin })).json()) as { stored: unknown };
    expect(state).toEqual(stored.stored);
  });
});
