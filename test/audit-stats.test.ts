import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { type AuditEvent, type QueuedAuditEvent, writeEvents } from "../common/audit-contract";
import { buildAuditEvent } from "../src/audit/event";
import { type Stats, statsSql } from "../src/audit/stats";
import { call, expectErrorShape, mintToken } from "./helpers";

const STATS = "/cc/api/qrfallback/stats";
const MINUTE = 60_000;

/** An event of `rpAppId` (null: the security app) that happened `minutesAgo` whole minutes before this one. */
function event(
  rpAppId: string | null,
  eventName: AuditEvent["eventName"],
  minutesAgo: number,
  isSuccessful = true,
  refusedCount?: number,
): QueuedAuditEvent {
  const e = buildAuditEvent({ tenantId: "t", securityAppId: "QRFallbackSecurity" }, null, {
    eventName,
    message: "m",
    subName: "device/pendingqr",
    rpAppId,
    isSuccessful,
    errorCode: isSuccessful ? null : "QR_FALLBACK_NOT_FOUND",
  });
  // Inside its minute, but never later than now (a minute's start plus a second).
  e.eventTimeInUTC = base - minutesAgo * MINUTE + 1000;
  if (refusedCount) e.additionalDetails.extras = { refusedCount, windowStartUTC: e.eventTimeInUTC };
  return e;
}
const times = (n: number, make: () => QueuedAuditEvent) => Array.from({ length: n }, make);

async function stats(token: string, rpAppId?: string) {
  const res = await call("GET", rpAppId ? `${STATS}?rpAppId=${rpAppId}` : STATS, { token });
  return { res, body: res.status === 200 ? ((await res.json()) as Stats) : null };
}
const minuteOf = (s: Stats | null, minutesAgo: number) =>
  s?.minutes.find((m) => m.minute === base - minutesAgo * MINUTE);

let admin: string;
let appA: string;
/** The start of the minute the trail was seeded in (a test may run in the next one). */
let base: number;

beforeAll(async () => {
  admin = await mintToken("ops", true);
  appA = await mintToken("StatsA");
  base = Math.floor(Date.now() / MINUTE) * MINUTE;
  const PR = "QR_FALLBACK_PAYLOAD_RETRIEVED";
  await writeEvents(env.AUDIT_DB, [
    ...times(3, () => event("StatsA", PR, 10)),
    ...times(2, () => event("StatsA", PR, 10, false)),
    event("StatsA", "QR_FALLBACK_CODE_ISSUED", 10),
    event("StatsA", PR, 5),
    ...times(4, () => event("StatsA", "QR_FALLBACK_CODE_ISSUED", 5)),
    ...times(2, () => event("StatsB", PR, 10)),
    // Refusal summaries: their counts are summed (12), not the rows counted (2).
    event(null, "QR_FALLBACK_LOOKUPS_REFUSED", 5, false, 7),
    event(null, "QR_FALLBACK_LOOKUPS_REFUSED", 5, false, 5),
    event(null, "QR_FALLBACK_ATTACK_MODE_STARTED", 8),
    event(null, "QR_FALLBACK_ATTACK_MODE_ENDED", 3),
    // Happened two hours ago (logged now): outside the last hour.
    ...times(3, () => event("StatsA", PR, 120)),
  ]);
});

describe("GET /cc/api/qrfallback/stats", () => {
  it("counts each minute's lookups by outcome and its codes issued, for one application", async () => {
    const { body } = await stats(admin, "StatsA");
    expect(body?.to).toBeGreaterThan(body?.from ?? Infinity);
    expect((body?.to ?? 0) - (body?.from ?? 0)).toBeLessThanOrEqual(60 * MINUTE);
    expect(body?.minutes.map(({ minute: _, ...counts }) => counts)).toEqual([
      { served: 3, failed: 2, refused: 0, created: 1 },
      { served: 1, failed: 0, refused: 0, created: 4 },
    ]);
    expect(minuteOf(body, 10)).toMatchObject({ served: 3, failed: 2, created: 1 });
    expect(minuteOf(body, 5)).toMatchObject({ served: 1, created: 4 });
    expect(body?.attackMode).toEqual([]);
  });

  it("an admin without rpAppId counts every application and the refusals, and lists attack mode", async () => {
    const { body } = await stats(admin);
    expect(minuteOf(body, 10)).toMatchObject({ served: 5, failed: 2, refused: 0, created: 1 });
    expect(minuteOf(body, 5)).toMatchObject({ served: 1, failed: 0, refused: 12, created: 4 });
    const at = (ago: number) => base - ago * MINUTE + 1000;
    expect(body?.attackMode).toEqual([
      { at: at(8), active: true },
      { at: at(3), active: false },
    ]);
  });

  it("an application token reads its own application only (403 for another), and a token is needed", async () => {
    const own = await stats(appA);
    expect(own.body?.minutes.reduce((n, m) => n + m.served, 0)).toBe(4);
    await expectErrorShape((await stats(appA, "StatsB")).res, 403, "FORBIDDEN");
    await expectErrorShape(await call("GET", STATS), 401, "UNAUTHORIZED");
    await expectErrorShape((await stats(admin, "x".repeat(129))).res, 400, "INVALID_REQUEST");
  });

  it("reads a range of the trail's index on loggedTimeInUTC or of its per-application one, never the whole table", async () => {
    for (const [oneApp, index] of [
      [false, "audit_events_by_logged"],
      [true, "audit_events_by_app_logged"],
    ] as const) {
      for (const sql of statsSql(oneApp)) {
        const params = oneApp ? [0, 1, "StatsA"] : [0, 1];
        const { results } = await env.AUDIT_DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
          .bind(...params)
          .all<{ detail: string }>();
        const plan = results.map((r) => r.detail).join("; ");
        expect(plan).toMatch(new RegExp(`SEARCH audit_events USING .*${index}.*loggedTimeInUTC>\\?`));
        expect(plan).not.toMatch(/SCAN audit_events/);
      }
    }
  });
});
