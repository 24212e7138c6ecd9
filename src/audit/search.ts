import * as z from "zod/mini";
import { type AuditEvent, auditEventSchema, withLoggedTime } from "../../common/audit-contract";

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

export const searchPageSchema = z.object({
  metadata: z.object({ totalRecords: z.int(), totalPages: z.int(), currentPage: z.int(), pageSize: z.int() }),
  data: z.array(auditEventSchema),
});

export const applicationsSchema = z.array(z.object({ appID: z.string() }));

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

/** Sort key of the last row of a page: where the next page starts. */
export interface PageCursor {
  value: string | number;
  id: string;
}

/**
 * One window of the trail, `[startTSUTC, endTSUTC)` on loggedTimeInUTC. Count and page are read in
 * one D1 batch so they describe the same snapshot. `id` always breaks ties so paging is stable.
 * With `after` (the previous page's cursor) the page is a keyset query; otherwise LIMIT/OFFSET.
 */
export async function searchTrail(
  db: D1Database,
  filter: SearchFilter,
  order: SearchOrder,
  page: { pageSize: number; pageNumber: number },
  after: PageCursor | null = null,
): Promise<{ page: SearchPage; last: PageCursor | null }> {
  const where = ["loggedTimeInUTC >= ?1", "loggedTimeInUTC < ?2"];
  const params: (string | number)[] = [filter.startTSUTC, filter.endTSUTC];
  const bind = (value: string | number) => {
    params.push(value);
    return `?${params.length}`;
  };
  if (filter.rpAppId !== null) where.push(`rpAppId = ${bind(filter.rpAppId)}`);
  if (filter.eventName !== undefined) where.push(`eventName = ${bind(filter.eventName)}`);
  const whereSql = where.join(" AND ");
  const countParams = [...params];

  const col = order.orderBy;
  const dir = order.sortDir === "desc" ? "DESC" : "ASC";
  const cmp = order.sortDir === "desc" ? "<" : ">";
  const orderSql = col === "id" ? `id ${dir}` : `${col} ${dir}, id ${dir}`;
  const pageOrderSql = col === "id" ? `page.id ${dir}` : `page.sortValue ${dir}, page.id ${dir}`;
  // rpAppId may be NULL, which row comparisons cannot order: that order always pages by OFFSET.
  const keyset = after !== null && col !== "rpAppId";
  let pageWhere = whereSql;
  if (keyset) {
    const id = bind(after.id);
    pageWhere += col === "id" ? ` AND id ${cmp} ${id}` : ` AND (${col}, id) ${cmp} (${bind(after.value)}, ${id})`;
  }
  const offset = keyset ? 0 : (page.pageNumber - 1) * page.pageSize;
  const [count, rows] = await db.batch<{
    n?: number;
    body?: string;
    loggedTimeInUTC?: number;
    sortValue?: string | number;
    id?: string;
  }>([
    db.prepare(`SELECT count(*) AS n FROM audit_events WHERE ${whereSql}`).bind(...countParams),
    // The page is chosen from the index alone, then only its rows' bodies are read: sorting the
    // window with the bodies attached would read every body in the window (slow in a big trail).
    db
      .prepare(
        `WITH page AS (SELECT id, ${col} AS sortValue FROM audit_events WHERE ${pageWhere}
           ORDER BY ${orderSql} LIMIT ${page.pageSize} OFFSET ${offset})
         SELECT e.body, e.loggedTimeInUTC, page.sortValue, e.id FROM page JOIN audit_events e ON e.id = page.id
         ORDER BY ${pageOrderSql}`,
      )
      .bind(...params),
  ]);
  const totalRecords = count.results[0]?.n ?? 0;
  const lastRow = rows.results.at(-1);
  return {
    page: {
      metadata: {
        totalRecords,
        totalPages: Math.ceil(totalRecords / page.pageSize),
        currentPage: page.pageNumber,
        pageSize: page.pageSize,
      },
      data: rows.results.map((r) => withLoggedTime(JSON.parse(r.body as string), r.loggedTimeInUTC as number)),
    },
    last: lastRow ? { value: lastRow.sortValue as string | number, id: lastRow.id as string } : null,
  };
}
