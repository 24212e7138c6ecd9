import * as z from "zod/mini";
import type { AuditEvent, QueuedAuditEvent } from "./event";

export const ORDER_COLUMNS = ["eventTimeInUTC", "loggedTimeInUTC", "eventName", "rpAppId", "id"] as const;
export type OrderColumn = (typeof ORDER_COLUMNS)[number];
export interface SearchOrder {
  orderBy: OrderColumn;
  sortDir: "asc" | "desc";
}
export const DEFAULT_ORDER: SearchOrder = { orderBy: "eventTimeInUTC", sortDir: "asc" };

const epochMs = z.coerce.number().check(z.int(), z.nonnegative(), z.maximum(8.64e15));

/** The vendor's query parameters. */
export const searchQuerySchema = z
  .object({
    rpAppId: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
    startTSUTC: epochMs,
    endTSUTC: epochMs,
    pageSize: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(1000)), 100),
    pageNumber: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(1_000_000)), 1),
    orderBy: z.optional(z.enum(ORDER_COLUMNS)),
    sortDir: z.optional(
      z.pipe(
        z.pipe(
          z.string(),
          z.transform((s) => s.toLowerCase()),
        ),
        z.enum(["asc", "desc"]),
      ),
    ),
    eventName: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
  })
  .check(
    z.refine((q) => q.endTSUTC >= q.startTSUTC, {
      message: "endTSUTC must not be before startTSUTC",
      path: ["endTSUTC"],
    }),
  );

export interface SearchFilter {
  /** null: every event, including those of no app (admin tokens only). */
  rpAppId: string | null;
  startTSUTC: number;
  endTSUTC: number;
  eventName?: string;
}

export interface SearchPage {
  metadata: { totalRecords: number; totalPages: number; currentPage: number; pageSize: number };
  data: AuditEvent[];
}

/**
 * One window of the trail, `[startTSUTC, endTSUTC)` on loggedTimeInUTC. Count and page are read in
 * one D1 batch so they describe the same snapshot. `id` always breaks ties so paging is stable.
 */
export async function searchTrail(
  db: D1Database,
  filter: SearchFilter,
  order: SearchOrder,
  page: { pageSize: number; pageNumber: number },
): Promise<SearchPage> {
  const where = ["loggedTimeInUTC >= ?1", "loggedTimeInUTC < ?2"];
  const params: (string | number)[] = [filter.startTSUTC, filter.endTSUTC];
  if (filter.rpAppId !== null) {
    params.push(filter.rpAppId);
    where.push(`rpAppId = ?${params.length}`);
  }
  if (filter.eventName !== undefined) {
    params.push(filter.eventName);
    where.push(`eventName = ?${params.length}`);
  }
  const dir = order.sortDir === "desc" ? "DESC" : "ASC";
  const orderSql = order.orderBy === "id" ? `id ${dir}` : `${order.orderBy} ${dir}, id ${dir}`;
  const whereSql = where.join(" AND ");
  const offset = (page.pageNumber - 1) * page.pageSize;
  const [count, rows] = await db.batch<{ n?: number; body?: string; loggedTimeInUTC?: number }>([
    db.prepare(`SELECT count(*) AS n FROM audit_events WHERE ${whereSql}`).bind(...params),
    db
      .prepare(
        `SELECT body, loggedTimeInUTC FROM audit_events WHERE ${whereSql} ORDER BY ${orderSql} LIMIT ${page.pageSize} OFFSET ${offset}`,
      )
      .bind(...params),
  ]);
  const totalRecords = count.results[0]?.n ?? 0;
  return {
    metadata: {
      totalRecords,
      totalPages: Math.ceil(totalRecords / page.pageSize),
      currentPage: page.pageNumber,
      pageSize: page.pageSize,
    },
    data: rows.results.map((r) => withLoggedTime(JSON.parse(r.body as string), r.loggedTimeInUTC as number)),
  };
}

/** Puts loggedTimeInUTC where the vendor's shape has it, right after eventTimeInUTC. */
function withLoggedTime(event: QueuedAuditEvent, loggedTimeInUTC: number): AuditEvent {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(event)) {
    out[k] = v;
    if (k === "eventTimeInUTC") out.loggedTimeInUTC = loggedTimeInUTC;
  }
  return out as AuditEvent;
}
