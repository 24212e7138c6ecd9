import { env } from "cloudflare:workers";
import { Webhook, WebhookVerificationError } from "standardwebhooks";
import { describe, expect, inject, it, vi } from "vitest";
import type { AuditEvent } from "../common/audit-contract";
import { signature } from "../src/hooks/deliver";
import { call, createRegistration, expectErrorShape, lookup, mintToken, trailRows } from "./helpers";

const SINK = inject("hookSinkUrl");
const HOOKS = "/cc/api/eventhooks";

interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
  status: number;
}
async function received(path: string): Promise<Received[]> {
  return ((await (await fetch(`${SINK}/__received`)).json()) as Received[]).filter((r) => r.path === path);
}
const failSink = (times: number) => fetch(`${SINK}/__fail?times=${times}`, { method: "POST" });

interface HookStatus {
  lastSuccessAt: number | null;
  lastError: string | null;
  failed: number;
  deadLettered: number;
}
/** Polls GET /cc/api/eventhooks until the hook's delivery status satisfies `done`. */
function statusWhen(admin: string, id: string, done: (s: HookStatus) => boolean, timeout = 10_000) {
  return vi.waitUntil(
    async () => {
      const list = (await (await call("GET", HOOKS, { token: admin })).json()) as { id: string; status: HookStatus }[];
      const status = list.find((h) => h.id === id)?.status;
      return status && done(status) ? status : false;
    },
    { timeout, interval: 200 },
  );
}

async function createHook(admin: string, body: Record<string, unknown>) {
  const res = await call("POST", HOOKS, { token: admin, body });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string; secret: string; headerNames: string[] } & Record<string, unknown>;
}

describe("event hooks: the admin API", () => {
  it("creates, lists and deletes hooks; header secrets are never returned; admin only", async () => {
    const admin = await mintToken("ops", true);
    const created = await createHook(admin, {
      name: "SIEM",
      eventType: "ALL",
      invocationEndpoint: "https://siem.example.com/hec",
      authType: "BEARER",
      headerParameters: { Authorization: "Bearer very-secret-siem-token" },
      format: "splunk-hec",
    });
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/); // Standard Webhooks: base64 of 32 bytes
    expect(created.headerNames).toEqual(["Authorization"]);
    expect(JSON.stringify(created)).not.toContain("very-secret-siem-token");
    const listed = await (await call("GET", HOOKS, { token: admin })).text();
    expect(listed).toContain(created.id);
    expect(listed).not.toContain("very-secret-siem-token");
    expect(listed).not.toContain(created.secret);
    // At rest, the header values are sealed too.
    const stored = await env.QR_KV.get(`hook:v1:${created.id}`);
    expect(stored).not.toContain("very-secret-siem-token");

    await expectErrorShape(await call("GET", HOOKS, { token: await mintToken("SomeApp") }), 403, "FORBIDDEN");
    expect((await call("DELETE", `${HOOKS}/${created.id}`, { token: admin })).status).toBe(204);
    await expectErrorShape(await call("DELETE", `${HOOKS}/${created.id}`, { token: admin }), 404, "NOT_FOUND");
  });

  it("deployed, only https to a public host; a bad body is a 400", async () => {
    const admin = await mintToken("ops", true);
    const deployed = { ...env, EVENT_HOOKS_ALLOW_LOCAL: "false" } as Env;
    for (const endpoint of [
      "http://siem.example.com/",
      "https://127.0.0.1/",
      "https://10.1.2.3/",
      "https://localhost/",
      `${SINK}/x`,
    ]) {
      const res = await call("POST", HOOKS, {
        token: admin,
        env: deployed,
        body: { name: "x", eventType: "ALL", invocationEndpoint: endpoint },
      });
      await expectErrorShape(res, 400, "INVALID_REQUEST");
    }
    const bad = await call("POST", HOOKS, {
      token: admin,
      body: { name: "x", eventType: "NOPE", invocationEndpoint: "https://a.example" },
    });
    await expectErrorShape(bad, 400, "INVALID_REQUEST");
    const noAuth = await call("POST", HOOKS, {
      token: admin,
      body: { name: "x", eventType: "ALL", invocationEndpoint: "https://a.example", authType: "BEARER" },
    });
    await expectErrorShape(noAuth, 400, "INVALID_REQUEST");
  });
});

describe("event hooks: delivery to a real local sink", () => {
  it("delivers the app's events, signed, as JSON and as Splunk HEC, within seconds of a lookup", async () => {
    const admin = await mintToken("ops", true);
    const json = await createHook(admin, {
      name: "json sink",
      eventType: "ALL",
      rpAppId: "HookApp",
      invocationEndpoint: `${SINK}/json`,
      authType: "BEARER",
      headerParameters: { Authorization: "Bearer siem-token" },
    });
    const hec = await createHook(admin, {
      name: "splunk",
      eventType: "QR_FALLBACK_CODE_ISSUED",
      rpAppId: "HookApp",
      invocationEndpoint: `${SINK}/hec`,
      headerParameters: { Authorization: "Splunk hec-token" },
      format: "splunk-hec",
    });
    const { json: qr } = await createRegistration(await mintToken("HookApp"));
    expect((await lookup(qr.qrFallbackActivationCode, "198.18.60.1")).status).toBe(200);

    const got = await vi.waitUntil(
      async () => {
        const r = await received("/json");
        return r.length >= 2 && (await received("/hec")).length >= 1 ? r : false;
      },
      { timeout: 15_000, interval: 100 },
    );
    const events = got.map((r) => JSON.parse(r.body) as AuditEvent);
    expect(events.map((e) => e.eventName).sort()).toEqual(["QR_FALLBACK_CODE_ISSUED", "QR_FALLBACK_PAYLOAD_RETRIEVED"]);
    for (const r of got) {
      // A receiver verifies with the Standard Webhooks library, as it would in production.
      expect(new Webhook(json.secret).verify(r.body, r.headers)).toEqual(JSON.parse(r.body));
      expect(r.headers["webhook-id"]).toBe(JSON.parse(r.body).id);
      expect(r.headers["x-qrf-signature"]).toBe(await signature(json.secret, r.body)); // legacy
      expect(r.headers.authorization).toBe("Bearer siem-token");
      expect(r.headers["x-qrf-event-id"]).toBe(JSON.parse(r.body).id);
    }
    // Each event exactly as the trail holds it.
    const rows = await trailRows();
    for (const e of events) expect(rows.find((row) => row.id === e.id)).toEqual(e);

    const [splunk] = await received("/hec");
    const envelope = JSON.parse(splunk.body);
    expect(Object.keys(envelope)).toEqual(["time", "host", "source", "sourcetype", "event"]);
    expect(envelope.event.eventName).toBe("QR_FALLBACK_CODE_ISSUED");
    expect(envelope.time).toBe(envelope.event.eventTimeInUTC / 1000);
    expect(splunk.headers["x-qrf-signature"]).toBe(await signature(hec.secret, splunk.body));
    expect(() => new Webhook(hec.secret).verify(splunk.body, splunk.headers)).not.toThrow();
    // Another hook's secret, a changed body, or a replay outside the tolerance (5 minutes) is refused.
    expect(() => new Webhook(json.secret).verify(splunk.body, splunk.headers)).toThrow(WebhookVerificationError);
    expect(() => new Webhook(hec.secret).verify(`${splunk.body} `, splunk.headers)).toThrow(WebhookVerificationError);
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      vi.setSystemTime(Number(splunk.headers["webhook-timestamp"]) * 1000 + 6 * 60_000);
      expect(() => new Webhook(hec.secret).verify(splunk.body, splunk.headers)).toThrow(/too old/i);
    } finally {
      vi.useRealTimers();
    }
  });

  it("a failing sink never holds up the trail, gets its events after it recovers, and its status says so", async () => {
    const admin = await mintToken("ops", true);
    const hook = await createHook(admin, {
      name: "flaky",
      eventType: "QR_FALLBACK_CODE_ISSUED",
      rpAppId: "FlakyApp",
      invocationEndpoint: `${SINK}/flaky`,
    });
    await failSink(2);
    const { json: qr } = await createRegistration(await mintToken("FlakyApp"));
    // The trail has the event while the sink is still failing.
    await vi.waitUntil(async () => (await trailRows()).some((e) => e.rpAppId === "FlakyApp"), { timeout: 10_000 });
    expect((await received("/flaky")).filter((r) => r.status === 200)).toHaveLength(0);
    // Retries with backoff (1 s, 2 s) until the sink answers.
    const delivered = await vi.waitUntil(
      async () => {
        const ok = (await received("/flaky")).filter((r) => r.status === 200);
        return ok.length > 0 ? ok : false;
      },
      { timeout: 20_000, interval: 200 },
    );
    expect(JSON.parse(delivered[0].body).additionalDetails.extras.fallbackId).toBeDefined();
    expect(qr.qrFallbackActivationCode).toBeDefined();
    const attempts = await received("/flaky");
    expect(attempts.filter((r) => r.status === 500)).toHaveLength(2);
    // Every attempt carries the same webhook-id, each its own timestamp and signature, all valid.
    expect(new Set(attempts.map((r) => r.headers["webhook-id"])).size).toBe(1);
    const stamps = attempts.map((r) => Number(r.headers["webhook-timestamp"]));
    expect(stamps[stamps.length - 1]).toBeGreaterThan(stamps[0]); // retries back off 1 s, then 2 s
    for (const r of attempts) expect(() => new Webhook(hook.secret).verify(r.body, r.headers)).not.toThrow();
    const status = await statusWhen(admin, hook.id, (s) => s.lastSuccessAt !== null);
    expect(status.failed).toBe(2);
    expect(status.lastError).toMatch(/endpoint answered 500/);
  });

  it("a sink that keeps failing has the delivery dead-lettered after max_retries, counted in its status", async () => {
    const admin = await mintToken("ops", true);
    const hook = await createHook(admin, {
      name: "down",
      eventType: "QR_FALLBACK_CODE_ISSUED",
      rpAppId: "DownApp",
      invocationEndpoint: `${SINK}/down`,
    });
    await failSink(100);
    await createRegistration(await mintToken("DownApp"));
    const status = await statusWhen(admin, hook.id, (s) => s.deadLettered > 0, 30_000);
    await failSink(0);
    expect(status.deadLettered).toBe(1);
    expect(status.failed).toBe(3); // the first attempt and max_retries (2) retries
    expect(status.lastError).toMatch(/dead-lettered/);
    expect((await received("/down")).length).toBe(3);
  });
});
