import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  type AuditEvent,
  COUNT_LOGGED_BETWEEN,
  DELETE_LOGGED_BETWEEN,
  OLDEST_LOGGED,
  PAGE_LOGGED_BETWEEN,
  type QueuedAuditEvent,
} from "../../common/audit-contract";
import { buildAuditEvent } from "../../src/audit/event";
import { archiveExpiredDays, archiveKey } from "./retention";

const DAY = 86_400_000;
const archive = (env as unknown as ConsumerEnv).AUDIT_ARCHIVE;
const NOW = Date.UTC(2026, 10, 30, 12);
const OLD_DAY = Date.UTC(2025, 9, 20); // 406 days before NOW's day: past the 400-day retention

/** Rows as the consumer writes them, but with a chosen loggedTimeInUTC (the past cannot be waited for). */
async function insertAt(loggedTimeInUTC: number, count: number, message = () => "m"): Promise<QueuedAuditEvent[]> {
  const events = Array.from({ length: count }, (_, i) =>
    buildAuditEvent({ tenantId: "t", securityAppId: "QRFallbackSecurity" }, null, {
      eventName: "QR_FALLBACK_CODE_ISSUED",
      message: message(),
      subName: "client/qr/create",
      rpAppId: `RetainApp${i % 3}`,
      isSuccessful: true,
      errorCode: null,
    }),
  );
  const insert = env.AUDIT_DB.prepare(
    "INSERT INTO audit_events (id, eventName, rpAppId, eventTimeInUTC, loggedTimeInUTC, isSuccessful, errorCode, body) VALUES (?, ?, ?, ?, ?, 1, NULL, ?)",
  );
  for (let from = 0; from < events.length; from += 2_000) {
    await env.AUDIT_DB.batch(
      events
        .slice(from, from + 2_000)
        .map((e, i) =>
          insert.bind(
            e.id,
            e.eventName,
            e.rpAppId,
            loggedTimeInUTC + from + i,
            loggedTimeInUTC + from + i,
            JSON.stringify(e),
          ),
        ),
    );
  }
  return events;
}

async function rowsBetween(start: number, end: number): Promise<number> {
  const row = await env.AUDIT_DB.prepare(
    "SELECT count(*) AS n FROM audit_events WHERE loggedTimeInUTC >= ? AND loggedTimeInUTC < ?",
  )
    .bind(start, end)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

async function readArchive(key: string): Promise<AuditEvent[]> {
  const object = await archive.get(key);
  if (!object) throw new Error(`no archive object ${key}`);
  const text = await new Response(object.body.pipeThrough(new DecompressionStream("gzip"))).text();
  return text
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as AuditEvent);
}

/** The real D1 binding, with DELETE statements failing: a run that stops between archive and prune. */
function dbFailingDeletes(): D1Database {
  return new Proxy(env.AUDIT_DB, {
    get(target, prop) {
      if (prop !== "prepare") return Reflect.get(target, prop).bind(target);
      return (sql: string) => {
        if (sql.trim().startsWith("DELETE")) throw new Error("runtime stopped");
        return target.prepare(sql);
      };
    },
  });
}

describe("retention: archive to R2, then delete from D1", () => {
  it("moves a day past the retention into one gzip NDJSON object, in bounded batches, and keeps recent days", async () => {
    const old = await insertAt(OLD_DAY + 3_600_000, 25);
    await insertAt(NOW - 2 * DAY, 5); // recent: stays
    const result = await archiveExpiredDays(env.AUDIT_DB, archive, { retentionDays: 400, now: NOW, deleteBatch: 7 });
    const key = archiveKey(OLD_DAY);
    expect(key).toBe("audit/v1/2025/10/20.ndjson.gz");
    expect(result).toEqual({ archived: [key], deleted: 25 });
    const archived = await readArchive(key);
    expect(archived.map((e) => e.id)).toEqual(old.map((e) => e.id));
    expect(archived[0]).toMatchObject({ ...old[0], loggedTimeInUTC: OLD_DAY + 3_600_000 });
    expect((await archive.head(key))?.customMetadata).toMatchObject({ events: "25" });
    expect(await rowsBetween(OLD_DAY, OLD_DAY + DAY)).toBe(0);
    expect(await rowsBetween(NOW - 3 * DAY, NOW)).toBe(5);

    // Run again: nothing to do, the object untouched.
    const etag = (await archive.head(key))?.etag;
    expect(await archiveExpiredDays(env.AUDIT_DB, archive, { retentionDays: 400, now: NOW })).toEqual({
      archived: [],
      deleted: 0,
    });
    expect((await archive.head(key))?.etag).toBe(etag);
  });

  it("a run stopped after the archive was written resumes with the deletes, never rewriting the archive", async () => {
    const day = OLD_DAY + DAY;
    const events = await insertAt(day + 60_000, 12);
    await expect(archiveExpiredDays(dbFailingDeletes(), archive, { retentionDays: 400, now: NOW })).rejects.toThrow(
      /runtime stopped/,
    );
    const key = archiveKey(day);
    const etag = (await archive.head(key))?.etag;
    expect(etag).toBeDefined();
    expect(await rowsBetween(day, day + DAY)).toBe(12); // archived, not yet deleted

    const result = await archiveExpiredDays(env.AUDIT_DB, archive, { retentionDays: 400, now: NOW });
    expect(result).toEqual({ archived: [], deleted: 12 });
    expect((await archive.head(key))?.etag).toBe(etag);
    expect((await readArchive(key)).map((e) => e.id)).toEqual(events.map((e) => e.id));
  });

  it("a day larger than one part goes up as a multipart upload and reads back whole", async () => {
    const day = OLD_DAY + 2 * DAY;
    // Random messages do not compress: about 12 MB of gzip, so at least two parts of R2's minimum 5 MiB.
    const noise = () =>
      Array.from(crypto.getRandomValues(new Uint8Array(200)), (b) => b.toString(16))
        .join("")
        .slice(0, 400);
    const events = await insertAt(day, 25_000, noise);
    const result = await archiveExpiredDays(env.AUDIT_DB, archive, {
      retentionDays: 400,
      now: NOW,
      maxDeletes: 100_000,
      partBytes: 5 * 1024 * 1024,
    });
    expect(result.deleted).toBe(25_000);
    expect((await archive.head(archiveKey(day)))?.size).toBeGreaterThan(5 * 1024 * 1024);
    expect((await readArchive(archiveKey(day))).map((e) => e.id)).toEqual(events.map((e) => e.id));
  });

  it("finds, reads and deletes a day through the index on loggedTimeInUTC, never the whole table", async () => {
    for (const [sql, params] of [
      [OLDEST_LOGGED, []],
      [COUNT_LOGGED_BETWEEN, [0, DAY]],
      [PAGE_LOGGED_BETWEEN, [0, DAY, -1, 0, "", 1000]],
      [DELETE_LOGGED_BETWEEN, [0, DAY, 500]],
    ] as const) {
      const { results } = await env.AUDIT_DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
        .bind(...params)
        .all<{ detail: string }>();
      const plan = results.map((r) => r.detail).join("; ");
      expect(plan).toMatch(/SEARCH audit_events USING (COVERING )?INDEX audit_events_by_logged/);
      expect(plan).not.toMatch(/SCAN audit_events|TEMP B-TREE/);
    }
  });
});
