import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it, vi } from "vitest";
import type { AuditEvent } from "../common/audit-contract";
import { writeEvents } from "../common/audit-contract";
import { buildAuditEvent } from "../src/audit/event";
import { ORDER_COLUMNS, type PageCursor, searchTrail } from "../src/audit/search";
import { call, expectErrorShape, lookup, mintToken, trailRows } from "./helpers";

const SEARCH = "/cc/api/versioned/audit/search";

function event(rpAppId: string | null, eventName: AuditEvent["eventName"] = "QR_FALLBACK_PAYLOAD_RETRIEVED") {
  return buildAuditEvent({ tenantId: "t", securityAppId: "QRFallbackSecurity" }, null, {
    eventName,
    message: "m",
    subName: "device/pendingqr",
    rpAppId,
    isSuccessful: true,
    errorCode: null,
  });
}

interface Page {
  metadata: { totalRecords: number; totalPages: number; currentPage: number; pageSize: number };
  data: AuditEvent[];
}

async function search(token: string, params: Record<string, string | number>, headers?: Record<string, string>) {
  const qs = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)]));
  const res = await call("GET", `${SEARCH}?${qs}`, { token, headers });
  return { res, page: res.status === 200 ? ((await res.json()) as Page) : null };
}

/** Waits until the real clock has moved past `t` (the database stamps writes with it). */
async function clockPast(t: number): Promise<number> {
  return vi.waitUntil(() => (Date.now() > t ? Date.now() : false), { timeout: 2_000, interval: 2 });
}

let admin: string;
let appAToken: string;
let t0: number;
let tEnd: number;

beforeAll(async () => {
  admin = await mintToken("ops", true);
  appAToken = await mintToken("SearchA");
  t0 = Date.now() - 1;
  await writeEvents(env.AUDIT_DB, [
    ...Array.from({ length: 25 }, () => event("SearchA")),
    ...Array.from({ length: 5 }, () => event("SearchB")),
    event(null),
    event("SearchA", "QR_FALLBACK_CODE_ISSUED"),
  ]);
  const rows = await trailRows();
  tEnd = await clockPast(Math.max(...rows.map((r) => r.loggedTimeInUTC)));
});

describe("GET /cc/api/versioned/audit/search: access", () => {
  it("an RP token reads only its own app's trail, and 403 for another app", async () => {
    const { page } = await search(appAToken, { startTSUTC: t0, endTSUTC: tEnd });
    expect(page?.metadata.totalRecords).toBe(26);
    expect(new Set(page?.data.map((e) => e.rpAppId))).toEqual(new Set(["SearchA"]));
    const other = await search(appAToken, { rpAppId: "SearchB", startTSUTC: t0, endTSUTC: tEnd });
    await expectErrorShape(other.res, 403, "FORBIDDEN");
  });

  it("an admin token reads everything, including events of no app, or one app", async () => {
    expect((await search(admin, { startTSUTC: t0, endTSUTC: tEnd })).page?.metadata.totalRecords).toBe(32);
    const b = await search(admin, { rpAppId: "SearchB", startTSUTC: t0, endTSUTC: tEnd });
    expect(b.page?.metadata.totalRecords).toBe(5);
  });

  it("needs a token, and accepts odd content-type headers on GET", async () => {
    await expectErrorShape(await call("GET", `${SEARCH}?startTSUTC=0&endTSUTC=1`), 401, "UNAUTHORIZED");
    const odd = await search(
      admin,
      { startTSUTC: t0, endTSUTC: tEnd },
      { "Content-Type": "application/application-json" },
    );
    expect(odd.res.status).toBe(200);
  });

  it("GET /cc/api/application lists every app and the security app for admins, only its own app for audit:read", async () => {
    const res = await call("GET", "/cc/api/application", { token: admin });
    expect(await res.json()).toEqual([{ appID: "QRFallbackSecurity" }, { appID: "SearchA" }]);
    const own = await call("GET", "/cc/api/application", { token: appAToken });
    expect(await own.json()).toEqual([{ appID: "SearchA" }]);
    const createOnly = await mintToken("SearchA", false, ["qr:create"]);
    await expectErrorShape(await call("GET", "/cc/api/application", { token: createOnly }), 403, "FORBIDDEN");
  });
});

describe("windows, paging and order", () => {
  it("the window is [startTSUTC, endTSUTC) on loggedTimeInUTC", async () => {
    const rows = await trailRows();
    const t = rows[0].loggedTimeInUTC;
    const atT = rows.filter((r) => r.loggedTimeInUTC === t).length;
    const before = await search(admin, { startTSUTC: t0, endTSUTC: t });
    const from = await search(admin, { startTSUTC: t, endTSUTC: tEnd });
    expect(before.page?.metadata.totalRecords).toBe(rows.filter((r) => r.loggedTimeInUTC < t).length);
    expect(from.page?.metadata.totalRecords).toBe(rows.filter((r) => r.loggedTimeInUTC >= t).length);
    expect(from.page?.data.filter((e) => e.loggedTimeInUTC === t)).toHaveLength(Math.min(atT, 100));
  });

  it("pages tile the window in eventTimeInUTC, id order with vendor metadata", async () => {
    const pages: Page[] = [];
    for (let n = 1; n <= 3; n++) {
      const { page } = await search(appAToken, { startTSUTC: t0, endTSUTC: tEnd, pageSize: 10, pageNumber: n });
      pages.push(page as Page);
    }
    expect(pages.map((p) => p.data.length)).toEqual([10, 10, 6]);
    expect(pages[2].metadata).toEqual({ totalRecords: 26, totalPages: 3, currentPage: 3, pageSize: 10 });
    const all = pages.flatMap((p) => p.data);
    const sorted = [...all].sort((a, b) => a.eventTimeInUTC - b.eventTimeInUTC || (a.id < b.id ? -1 : 1));
    expect(all.map((e) => e.id)).toEqual(sorted.map((e) => e.id));
    expect(new Set(all.map((e) => e.id)).size).toBe(26);
    const keys = Object.keys(all[0]);
    expect(keys.indexOf("loggedTimeInUTC")).toBe(keys.indexOf("eventTimeInUTC") + 1);
  });

  it("keeps the first page's orderBy/sortDir for the rest of the window", async () => {
    const token = await mintToken("SearchA");
    const window = { startTSUTC: t0, endTSUTC: tEnd, pageSize: 10 };
    const first = await search(token, { ...window, orderBy: "eventName", sortDir: "DESC" });
    const second = await search(token, { ...window, pageNumber: 2 });
    const third = await search(token, { ...window, pageNumber: 3, orderBy: "id", sortDir: "asc" });
    const all = [first, second, third].flatMap((r) => (r.page as Page).data);
    const expected = [...all].sort((a, b) =>
      a.eventName === b.eventName ? (a.id < b.id ? 1 : -1) : a.eventName < b.eventName ? 1 : -1,
    );
    expect(new Set(all.map((e) => e.id)).size).toBe(26);
    expect(all.map((e) => e.id)).toEqual(expected.map((e) => e.id));
  });

  it("filters by eventName", async () => {
    const { page } = await search(admin, { startTSUTC: t0, endTSUTC: tEnd, eventName: "QR_FALLBACK_CODE_ISSUED" });
    expect(page?.data.map((e) => e.eventName)).toEqual(["QR_FALLBACK_CODE_ISSUED"]);
  });

  it.each([
    [{ startTSUTC: 0 }],
    [{ startTSUTC: 0, endTSUTC: 10, pageSize: 0 }],
    [{ startTSUTC: 0, endTSUTC: 10, pageSize: 1001 }],
    [{ startTSUTC: 0, endTSUTC: 10, pageNumber: 0 }],
    [{ startTSUTC: 0, endTSUTC: 10, sortDir: "sideways" }],
    [{ startTSUTC: 0, endTSUTC: 10, orderBy: "body; DROP TABLE audit_events" }],
    [{ startTSUTC: 10, endTSUTC: 0 }],
    [{ startTSUTC: "yesterday", endTSUTC: 10 }],
  ])("rejects %o with 400", async (params) => {
    await expectErrorShape(
      (await search(admin, params as unknown as Record<string, string>)).res,
      400,
      "INVALID_REQUEST",
    );
  });
});

describe("keyset paging", () => {
  it.each(ORDER_COLUMNS.flatMap((orderBy) => (["asc", "desc"] as const).map((sortDir) => ({ orderBy, sortDir }))))(
    "pages after a cursor are the pages OFFSET gives (%o)",
    async (order) => {
      const filter = { rpAppId: null, startTSUTC: t0, endTSUTC: tEnd };
      const byOffset: string[] = [];
      const byKeyset: string[] = [];
      let after: PageCursor | null = null;
      for (let pageNumber = 1; pageNumber <= 5; pageNumber++) {
        const page = { pageSize: 7, pageNumber };
        const offset = await searchTrail(env.AUDIT_DB, filter, order, page);
        const keyset = await searchTrail(env.AUDIT_DB, filter, order, page, after);
        byOffset.push(...offset.page.data.map((e) => e.id));
        byKeyset.push(...keyset.page.data.map((e) => e.id));
        after = keyset.last;
      }
      expect(byOffset).toHaveLength(32);
      expect(byKeyset).toEqual(byOffset);
    },
  );
});

describe("the query plan uses the indexes", () => {
  it.each([
    [
      "SELECT id, eventTimeInUTC FROM audit_events WHERE loggedTimeInUTC >= 0 AND loggedTimeInUTC < 1 ORDER BY eventTimeInUTC, id LIMIT 10",
      "COVERING INDEX audit_events_by_logged",
    ],
    [
      "SELECT count(*) FROM audit_events WHERE loggedTimeInUTC >= 0 AND loggedTimeInUTC < 1 AND rpAppId = 'a'",
      "audit_events_by_app_logged",
    ],
    [
      // The page query's shape (src/audit/search.ts): the page from the index, then its bodies by id.
      `WITH page AS (SELECT id, eventTimeInUTC AS sortValue FROM audit_events WHERE loggedTimeInUTC >= 0 AND loggedTimeInUTC < 1
         ORDER BY eventTimeInUTC, id LIMIT 10 OFFSET 20)
       SELECT e.body FROM page JOIN audit_events e ON e.id = page.id ORDER BY page.sortValue, page.id`,
      "COVERING INDEX audit_events_by_logged",
      "SEARCH e USING PRIMARY KEY (id=?)",
    ],
  ])("%s", async (sql, ...uses) => {
    const { results } = await env.AUDIT_DB.prepare(`EXPLAIN QUERY PLAN ${sql}`).all<{ detail: string }>();
    const plan = results.map((r) => r.detail).join("\n");
    for (const use of uses) expect(plan).toContain(use);
    expect(plan).not.toMatch(/SCAN (audit_events|e)(?! USING)/);
  });
});

describe("a SIEM polling consecutive windows", () => {
  it("receives every event exactly once while traffic is still arriving through the queue", async () => {
    const seen = new Map<string, number>();
    let t = Date.now();
    const poll = async () => {
      const end = Date.now();
      for (let n = 1; ; n++) {
        const { page } = await search(admin, { startTSUTC: t, endTSUTC: end, pageSize: 7, pageNumber: n });
        for (const e of (page as Page).data) seen.set(e.id, (seen.get(e.id) ?? 0) + 1);
        if (n >= (page as Page).metadata.totalPages) break;
      }
      t = end;
    };
    const start = t;
    let trafficDone = false;
    const traffic = (async () => {
      for (let i = 0; i < 60; i++) await lookup(`siem${String.fromCharCode(97 + (i % 26))}x`, `203.0.113.${i}`);
      trafficDone = true;
    })();
    let polls = 0;
    while (!trafficDone) {
      await poll();
      polls++;
    }
    await traffic;
    // Traffic is over; keep polling until the queue has delivered every event, as a SIEM would.
    await vi.waitUntil(
      async () => {
        await poll();
        const written = (await trailRows()).filter((r) => r.loggedTimeInUTC >= start && r.loggedTimeInUTC < t);
        return written.length >= 60 && written.every((r) => seen.has(r.id));
      },
      { timeout: 10_000, interval: 20 },
    );
    expect(polls).toBeGreaterThan(1);
    const rows = (await trailRows()).filter((r) => r.loggedTimeInUTC >= start && r.loggedTimeInUTC < t);
    expect(rows.length).toBeGreaterThanOrEqual(60);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    expect(new Set(seen.keys())).toEqual(new Set(rows.map((r) => r.id)));
  });
});

describe("a per-application poller (syslog-ng's hypr-audit-trail: list the apps, then search each)", () => {
  it("sees the lookups of unknown codes, filed under the security application", async () => {
    const start = Date.now();
    for (let i = 0; i < 12; i++) await lookup(`perap${String.fromCharCode(97 + i)}`, `198.18.40.${i}`);
    const seen = new Map<string, AuditEvent>();
    await vi.waitUntil(
      async () => {
        const end = Date.now();
        const apps = (await (await call("GET", "/cc/api/application", { token: admin })).json()) as { appID: string }[];
        for (const { appID } of apps) {
          const { page } = await search(admin, { rpAppId: appID, startTSUTC: start, endTSUTC: end, pageSize: 1000 });
          for (const e of (page as Page).data) seen.set(e.id, e);
        }
        return [...seen.values()].filter((e) => e.remoteIP === "198.18.40.0").length >= 12;
      },
      { timeout: 10_000, interval: 50 },
    );
    const misses = [...seen.values()].filter((e) => e.remoteIP === "198.18.40.0");
    expect(misses).toHaveLength(12);
    for (const e of misses) {
      expect(e).toMatchObject({
        rpAppId: "QRFallbackSecurity",
        eventName: "QR_FALLBACK_PAYLOAD_RETRIEVED",
        isSuccessful: false,
        eventTags: ["QR_FALLBACK", "SECURITY"],
      });
    }
  });
});
