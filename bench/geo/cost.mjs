// Cost per million fallbacks (one create with its code, one lookup that redeems it, their audit events)
// from Cloudflare's published prices (Workers Paid, beyond the included amounts; sources and dates in
// BENCHMARKS.md, "Geo model"), for the service's binding calls as the edge model counts them against a
// floor that makes only the calls the spec requires. Pure: tested by test/node/geo-model.test.mjs.

import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";

/** USD per unit. */
export const PRICES = {
  workerRequest: 0.3e-6,
  workerCpuMs: 0.02e-6,
  kvRead: 0.5e-6,
  kvWrite: 5e-6, // writes, deletes and lists alike
  doRequest: 0.15e-6, // every RPC call and every alarm
  doGbSecond: 12.5e-6,
  doRowWritten: 1e-6, // SQLite-backed objects' storage, as D1's
  doRowRead: 0.001e-6,
  queueOperation: 0.4e-6, // per 64 KB written, read or deleted: 3 a message
  d1RowWritten: 1e-6,
  d1RowRead: 0.001e-6,
  r2ClassA: 4.5e-6,
  r2ClassB: 0.36e-6,
};

/** An object call keeps a 128 MB object active this long (assumption: its own work and storage write). */
export const DO_ACTIVE_MS_PER_CALL = 5;
const GB = 128 / 1024;

/**
 * Rows one audit event writes in the trail's D1 table: the row and one per index (SQLite's own, for
 * UNIQUE, too: D1 bills an index's row as a row written), read from audit-consumer's migrations.
 */
export function auditRowsPerEvent(migrationsDir) {
  const db = new DatabaseSync(":memory:");
  for (const f of readdirSync(migrationsDir)
    .filter((f) => f.endsWith(".sql"))
    .sort())
    db.exec(readFileSync(path.join(migrationsDir, f), "utf8"));
  const indexes = db.prepare("SELECT count(*) AS n FROM pragma_index_list('audit_events') WHERE origin != 'pk'").get();
  db.close();
  return 1 + Number(indexes.n);
}

/**
 * Dollars per million fallbacks for `calls` per fallback: { workerRequests, cpuMs, kvReads, kvWrites,
 * doRequests, doHeldMs, doRowsWritten, queueMessages, d1RowsWritten, r2ClassA, r2ClassB }; doHeldMs is
 * time an object is kept from hibernating between calls (a pending timer), billed as duration. Returns the total
 * and each line.
 */
export function dollarsPerMillion(calls) {
  const lines = {
    workers: (calls.workerRequests ?? 0) * PRICES.workerRequest + (calls.cpuMs ?? 0) * PRICES.workerCpuMs,
    kv: (calls.kvReads ?? 0) * PRICES.kvRead + (calls.kvWrites ?? 0) * PRICES.kvWrite,
    durableObjects:
      (calls.doRequests ?? 0) * (PRICES.doRequest + (DO_ACTIVE_MS_PER_CALL / 1000) * GB * PRICES.doGbSecond) +
      ((calls.doHeldMs ?? 0) / 1000) * GB * PRICES.doGbSecond +
      (calls.doRowsWritten ?? 0) * PRICES.doRowWritten,
    queues: (calls.queueMessages ?? 0) * 3 * PRICES.queueOperation,
    d1: (calls.d1RowsWritten ?? 0) * PRICES.d1RowWritten,
    r2: (calls.r2ClassA ?? 0) * PRICES.r2ClassA + (calls.r2ClassB ?? 0) * PRICES.r2ClassB,
  };
  const million = Object.fromEntries(Object.entries(lines).map(([k, v]) => [k, +(v * 1e6).toFixed(3)]));
  const total = +Object.values(lines)
    .reduce((a, b) => a + b, 0)
    .toFixed(9);
  return { total: +(total * 1e6).toFixed(3), lines: million };
}

/**
 * The floor: one Worker request per create and per lookup (with the reference's CPU), one KV write, one
 * read and the delete SPEC §5 requires of a successful lookup (billed as a write), a claim and a
 * redemption (one object call and one row each), one queue message per event (two events), one D1
 * row per event.
 */
export function floorCalls({ cpuMs = 0 } = {}) {
  return {
    workerRequests: 2,
    cpuMs,
    kvReads: 1,
    kvWrites: 2,
    doRequests: 2,
    doRowsWritten: 2,
    queueMessages: 2,
    d1RowsWritten: 2,
  };
}

/**
 * The service's calls per fallback from the edge model's counts per create and per lookup hit
 * (`perCreate`, `perLookup`: binding calls keyed as bench/edge/counting.ts names them), its CPU, the
 * trail's rows per event, and how long a shard's send timer holds it per event (counted as if no two
 * events shared a timer: the sparse, worst case).
 */
export function serviceCalls({ perCreate, perLookup, cpuMs = 0, rowsPerEvent, heldMsPerEvent = 0 }) {
  const sum = (prefix) =>
    [perCreate, perLookup].reduce(
      (s, per) =>
        s +
        Object.entries(per)
          .filter(([k]) => k.startsWith(prefix))
          .reduce((a, [, v]) => a + v, 0),
      0,
    );
  const events = sum("queue:messages");
  return {
    workerRequests: 2,
    cpuMs,
    kvReads: sum("kv:get"),
    kvWrites: sum("kv:put") + sum("kv:delete") + sum("kv:list"),
    doRequests: sum("do:") + sum("alarm:"),
    doHeldMs: events * heldMsPerEvent,
    doRowsWritten: sum("rows:"),
    queueMessages: events,
    d1RowsWritten: events * rowsPerEvent,
  };
}
