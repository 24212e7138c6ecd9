import * as z from "zod/mini";
import { AuditEventName as N } from "../../common/audit-contract";

/** The window the stats cover: the last 60 whole minutes, the current one included. */
export const STATS_MINUTES = 60;
const MINUTE = 60_000;

export const statsSchema = z.object({
  from: z.int(),
  to: z.int(),
  /** One row per minute that has events (epoch ms of its start); missing minutes are all zero. */
  minutes: z.array(z.object({ minute: z.int(), served: z.int(), failed: z.int(), refused: z.int(), created: z.int() })),
  /** Attack mode started (active) or ended in the window, in time order. */
  attackMode: z.array(z.object({ at: z.int(), active: z.boolean() })),
});
export type Stats = z.infer<typeof statsSchema>;

/**
 * Lookups and creates per minute, counted by SQLite: a range of the trail's narrow index on
 * loggedTimeInUTC or of its per-app one (each row then read by id), grouped on the event's own
 * minute. An event is logged after it happens, so `eventTimeInUTC >= from` keeps exactly the
 * window's events. Refusals are summaries: their count is summed.
 */
export async function trailStats(db: D1Database, rpAppId: string | null, now = Date.now()): Promise<Stats> {
  const from = (Math.floor(now / MINUTE) - STATS_MINUTES + 1) * MINUTE;
  const params = rpAppId === null ? [from, now] : [from, now, rpAppId];
  const [minutes, attack] = await db.batch<Record<string, number>>(
    statsSql(rpAppId !== null).map((sql) => db.prepare(sql).bind(...params)),
  );
  return {
    from,
    to: now,
    minutes: minutes.results as Stats["minutes"],
    attackMode: attack.results.map((r) => ({ at: r.at, active: r.active === 1 })),
  };
}

/** The two statements (?1 from, ?2 now, ?3 the application if one): counts per minute, attack mode's changes. */
export function statsSql(oneApp: boolean): [string, string] {
  const where = `WHERE loggedTimeInUTC >= ?1 AND loggedTimeInUTC <= ?2 AND eventTimeInUTC >= ?1${oneApp ? " AND rpAppId = ?3" : ""}`;
  return [
    `SELECT eventTimeInUTC / ${MINUTE} * ${MINUTE} AS minute,
      sum(eventName = '${N.PAYLOAD_RETRIEVED}' AND isSuccessful) AS served,
      sum(eventName = '${N.PAYLOAD_RETRIEVED}' AND NOT isSuccessful) AS failed,
      sum(CASE eventName WHEN '${N.LOOKUPS_REFUSED}' THEN ifnull(body ->> '$.additionalDetails.extras.refusedCount', 0) ELSE 0 END) AS refused,
      sum(eventName = '${N.CODE_ISSUED}') AS created
    FROM audit_events ${where} GROUP BY minute ORDER BY minute`,
    `SELECT eventTimeInUTC AS at, eventName = '${N.ATTACK_MODE_STARTED}' AS active FROM audit_events ${where}
      AND eventName IN ('${N.ATTACK_MODE_STARTED}', '${N.ATTACK_MODE_ENDED}') ORDER BY at LIMIT 200`,
  ];
}
