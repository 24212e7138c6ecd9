import { Hono } from "hono";
import { searchQuerySchema, searchTrail } from "../audit/search";
import { rememberCursor, rememberOrder, windowId, windowState } from "../audit/search-window";
import { requireAdmin, requireToken } from "../auth/bearer";
import { listTokenRecords } from "../auth/token-store";
import { configOf } from "../config";
import type { AppEnv } from "../http/context";
import { AppError, ErrorCode } from "../http/errors";
import { validate } from "../http/validate";

export const AUDIT_SEARCH_PATH = "/cc/api/versioned/audit/search";
export const APPLICATIONS_PATH = "/cc/api/application";

export const auditRoutes = new Hono<AppEnv>();

auditRoutes.get(AUDIT_SEARCH_PATH, requireToken, validate("query", searchQuerySchema), async (c) => {
  const q = c.req.valid("query");
  const principal = c.get("principal");
  // An RP token reads its own app's trail; an admin token reads one app's, or all of it.
  if (!principal.admin && q.rpAppId !== undefined && q.rpAppId !== principal.rpAppId) {
    throw new AppError(ErrorCode.FORBIDDEN, "This token may not read that RP application's audit trail.");
  }
  const filter = {
    rpAppId: principal.admin ? (q.rpAppId ?? null) : principal.rpAppId,
    startTSUTC: q.startTSUTC,
    endTSUTC: q.endTSUTC,
    eventName: q.eventName,
  };
  const id = await windowId(principal.tokenId, filter);
  const state = await windowState(c.env.QR_KV, id, { orderBy: q.orderBy, sortDir: q.sortDir }, q);
  if (!state.remembered) await rememberOrder(c.env.QR_KV, id, state.order);
  const { page, last } = await searchTrail(c.env.AUDIT_DB, filter, state.order, q, state.after);
  if (last) c.executionCtx.waitUntil(rememberCursor(c.env.QR_KV, id, q, last));
  return c.json(page);
});

auditRoutes.get(APPLICATIONS_PATH, requireToken, async (c) => {
  requireAdmin(c.get("principal"));
  // Admin tokens are bound to no app, so they do not make their nominal app one that "holds tokens".
  // The security application is always listed: per-app pollers then see the brute-force signals.
  const apps = new Set((await listTokenRecords(c.env.QR_KV)).filter((r) => !r.admin).map((r) => r.rpAppId));
  apps.add(configOf(c.env).securityAppId);
  return c.json([...apps].sort().map((appID) => ({ appID })));
});
