// A claim shard keeps each hour's claims in a table of their own, with the claim's events in its row:
// an hour leaves whole once expired, and what the queue has taken is known without writing per send.
// Faults are injected by giving the shard's instance a queue that refuses, and by restarting it.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { AuditEventName, type QueuedAuditEvent } from "../common/audit-contract";
import { buildAuditEvent } from "../src/audit/event";
import { configOf } from "../src/config";
import { CLAIM_TABLE_MS, type CodeClaims } from "../src/fallback/code-claims";
import { budgetSettings } from "../src/security/guess-budget";
import { waitForTrail } from "./helpers";

const settings = budgetSettings(configOf(env));

afterEach(() => {
  vi.useRealTimers();
});

function shard(name: string): DurableObjectStub<CodeClaims> {
  return env.CODE_CLAIMS.get(env.CODE_CLAIMS.idFromName(`storage|${name}`));
}

function eventOf(app: string, eventName: AuditEventName, fallbackId = crypto.randomUUID()): QueuedAuditEvent {
  return buildAuditEvent({ tenantId: "local", securityAppId: "QRFallbackSecurity" }, null, {
    eventName,
    message: "test",
    subName: "client/qr",
    rpAppId: app,
    isSuccessful: true,
    errorCode: null,
    fallbackId,
  });
}

/** The shard's instance sends to a queue that refuses every batch (a queue down). */
async function queueDown(stub: DurableObjectStub<CodeClaims>): Promise<void> {
  await runInDurableObject(stub, (instance) => {
    const refusing = {
      send: async () => Promise.reject(new Error("queue down")),
      sendBatch: async () => Promise.reject(new Error("queue down")),
    };
    Object.assign(instance, { env: { ...env, AUDIT_QUEUE: refusing } });
  });
}

/** Restarts the shard; the new stub's first call runs a new instance on the stored state. */
async function restart(stub: DurableObjectStub<CodeClaims>): Promise<DurableObjectStub<CodeClaims>> {
  await runInDurableObject(stub, (_instance, state) => state.abort("restart")).catch(() => undefined);
  return env.CODE_CLAIMS.get(stub.id);
}

const tablesOf = (stub: DurableObjectStub<CodeClaims>) =>
  runInDurableObject(stub, (_instance, state) =>
    state.storage.sql
      .exec<{ name: string }>(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'claims%' OR name = 'events'",
      )
      .toArray()
      .map((r) => r.name),
  );

describe("claim storage", () => {
  it("events the queue refused survive a restart in their claims' rows and reach the trail once each", async () => {
    let stub = shard("restart");
    await queueDown(stub);
    const expiresAt = Date.now() + 180_000;
    const events = [1, 2].map(() => eventOf("StorageApp", AuditEventName.CODE_ISSUED));
    expect(await stub.reserve("restart-a", expiresAt, undefined, events[0])).toEqual({ eventKept: true });
    expect(await stub.reserve("restart-b", expiresAt, undefined, events[1])).toEqual({ eventKept: true });
    const retrieval = eventOf("StorageApp", AuditEventName.PAYLOAD_RETRIEVED);
    expect(await stub.lookup(settings, "long", "restart-a", "live", retrieval)).toEqual({
      outcome: "retrieved",
      eventKept: true,
    });
    await runDurableObjectAlarm(stub); // the send is refused: the events stay
    stub = await restart(stub);
    await runDurableObjectAlarm(stub);
    const ids = new Set([...events, retrieval].map((e) => e.id));
    const rows = await waitForTrail((r) => r.filter((e) => ids.has(e.id)).length >= 3);
    expect(rows.filter((e) => ids.has(e.id))).toHaveLength(3);
    // Single use held across the restart.
    expect((await stub.lookup(settings, "long", "restart-a", "live")).outcome).toBe("unknown");
  });

  it("an hour's claims leave with their table once expired and sent; dropping a table writes no row", async () => {
    const stub = shard("hourly");
    const now = Date.now();
    const expiresAt = now + 180_000;
    expect(await stub.reserve("hourly-a", expiresAt)).toBe(true);
    expect(await stub.reserve("hourly-a", expiresAt)).toBe(false); // live: never issued twice
    expect(await tablesOf(stub)).toEqual([`claims_${Math.floor(expiresAt / CLAIM_TABLE_MS)}`]);
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime((Math.floor(expiresAt / CLAIM_TABLE_MS) + 1) * CLAIM_TABLE_MS + 1_000);
    await runDurableObjectAlarm(stub);
    expect(await tablesOf(stub)).toEqual([]);
    expect(await stub.reserve("hourly-a", Date.now() + 180_000)).toBe(true); // its code may be drawn again
    // The cost model counts no row for the drop: the runtime's own counter agrees.
    const written = await runInDurableObject(stub, (_instance, state) => {
      state.storage.sql.exec("CREATE TABLE t (id TEXT PRIMARY KEY) WITHOUT ROWID");
      for (let i = 0; i < 50; i++) state.storage.sql.exec("INSERT INTO t VALUES (?)", `k${i}`);
      return state.storage.sql.exec("DROP TABLE t").rowsWritten;
    });
    expect(written).toBe(0);
  });

  it("a table whose events the queue has not taken stays past its hour", async () => {
    let stub = shard("unsent");
    await queueDown(stub);
    const expiresAt = Date.now() + 180_000;
    const issued = eventOf("StorageApp", AuditEventName.CODE_ISSUED);
    await stub.reserve("unsent-a", expiresAt, undefined, issued);
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime((Math.floor(expiresAt / CLAIM_TABLE_MS) + 1) * CLAIM_TABLE_MS + 1_000);
    await runDurableObjectAlarm(stub);
    expect(await tablesOf(stub)).toHaveLength(1);
    stub = await restart(stub); // the real queue again
    await runDurableObjectAlarm(stub);
    expect(await tablesOf(stub)).toEqual([]);
    vi.useRealTimers();
    await waitForTrail((r) => r.some((e) => e.id === issued.id));
  });

  it("a 0.8 shard's live claims and unsent events carry over to the hourly tables", async () => {
    let stub = shard("from-0.8");
    const now = Date.now();
    const pending = eventOf("StorageApp", AuditEventName.PAYLOAD_RETRIEVED);
    await runInDurableObject(stub, (_instance, state) => {
      const sql = state.storage.sql;
      for (const t of sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE name LIKE 'claims_%'").toArray())
        sql.exec(`DROP TABLE ${t.name}`);
      sql.exec(
        "CREATE TABLE claims (id TEXT PRIMARY KEY NOT NULL, expiresAt INTEGER NOT NULL, redeemed INTEGER NOT NULL) WITHOUT ROWID",
      );
      sql.exec("CREATE TABLE events (id TEXT PRIMARY KEY NOT NULL, body TEXT NOT NULL) WITHOUT ROWID");
      sql.exec("INSERT INTO claims VALUES ('live', ?1, 0), ('used', ?1, 1), ('gone', ?2, 0)", now + 120_000, now - 1);
      sql.exec("INSERT INTO events VALUES (?, ?)", pending.id, JSON.stringify(pending));
    });
    stub = await restart(stub);
    expect(await stub.reserve("live", now + 180_000)).toBe(false);
    expect((await stub.lookup(settings, "long", "used", "live")).outcome).toBe("unknown");
    expect((await stub.lookup(settings, "long", "live", "live")).outcome).toBe("retrieved");
    expect((await stub.lookup(settings, "long", "live", "live")).outcome).toBe("unknown");
    expect(await stub.reserve("gone", now + 180_000)).toBe(true);
    await runDurableObjectAlarm(stub);
    expect((await tablesOf(stub)).filter((t) => t === "claims" || t === "events")).toEqual([]);
    await waitForTrail((r) => r.some((e) => e.id === pending.id));
  });
});
