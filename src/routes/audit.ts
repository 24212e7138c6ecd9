import { createFactory } from "hono/factory";
import type * as z from "zod/mini";
import { applicationsSchema, searchPageSchema, searchQuerySchema, searchTrail } from "../audit/search";
import { rememberCursor, rememberOrder, windowId, windowState } from "../audit/search-window";
import { isAdmin, requireScope } from "../auth/bearer";
import { configOf } from "../config";
import { listRegisteredTokens, listSettings } from "../controls/control-store";
import { API_ERRORS, AUTH_ERRORS, bearer, deferred, errors, ok, ref, schema } from "../docs/openapi-parts";
import type { AppEnv } from "../http/context";
import { AppError, ErrorCode } from "../http/errors";
import type { ApiRoute } from "../http/route";
import { validate } from "../http/validate";

const factory = createFactory<AppEnv>();

const QUERY_DESCRIPTIONS: Record<string, string> = {
  rpAppId: "The RP application whose trail to read (an application token may name only its own).",
  startTSUTC: "Start of the window on loggedTimeInUTC, epoch ms, inclusive.",
  endTSUTC: "End of the window on loggedTimeInUTC, epoch ms, exclusive.",
  pageSize: "Events per page, 1 to 1000.",
  pageNumber: "1-based page number.",
  orderBy: "Sort column; ties are broken by id. Fixed by the first page of a window.",
  sortDir: "asc or desc. Fixed by the first page of a window.",
  eventName: "Only events of this name.",
};

function queryParameters(s: z.ZodMiniType) {
  return deferred((toJson) => {
    const json = toJson(s, "input");
    const required = new Set((json.required as string[] | undefined) ?? []);
    return Object.entries((json.properties ?? {}) as Record<string, object>).map(([name, p]) => ({
      name,
      in: "query",
      required: required.has(name),
      description: QUERY_DESCRIPTIONS[name] ?? name,
      schema: p,
    }));
  });
}

/**
 * Whose trail a token reads: an application token its own application's (403 for another), an admin
 * token the application it names, or all of it (null). The search and the stats share it.
 */
export function trailAppOf(principal: AppEnv["Variables"]["principal"], requested: string | undefined): string | null {
  if (isAdmin(principal)) return requested ?? null;
  if (requested !== undefined && requested !== principal.rpAppId) {
    throw new AppError(ErrorCode.FORBIDDEN, "This token may not read that RP application's audit trail.");
  }
  return principal.rpAppId;
}

export const auditSearchRoute: ApiRoute = {
  method: "get",
  paths: ["/cc/api/versioned/audit/search"],
  handlers: factory.createHandlers(requireScope("audit:read"), validate("query", searchQuerySchema), async (c) => {
    const q = c.req.valid("query");
    const principal = c.get("principal");
    const filter = {
      rpAppId: trailAppOf(principal, q.rpAppId),
      startTSUTC: q.startTSUTC,
      endTSUTC: q.endTSUTC,
      eventName: q.eventName,
    };
    const id = await windowId(principal.id, filter);
    const state = await windowState(c.env.QR_KV, id, { orderBy: q.orderBy, sortDir: q.sortDir }, q);
    if (!state.remembered) await rememberOrder(c.env.QR_KV, id, state.order);
    const { page, last } = await searchTrail(c.env.AUDIT_DB, filter, state.order, q, state.after);
    if (last) c.executionCtx.waitUntil(rememberCursor(c.env.QR_KV, id, q, last));
    return c.json(page);
  }),
  operation: {
    operationId: "searchAuditTrail",
    tags: ["Audit"],
    summary: "Search the audit trail: window [startTSUTC, endTSUTC) on loggedTimeInUTC",
    description:
      "Pages of one window of the trail. A token with the audit:read scope reads its own application's events; an admin token reads all, or one application's. Consecutive windows give every event exactly once.",
    security: bearer,
    parameters: queryParameters(searchQuerySchema),
    responses: {
      "200": ok("One page of the window.", ref("AuditSearchPage")),
      ...errors(ErrorCode.INVALID_REQUEST, ...AUTH_ERRORS, ...API_ERRORS),
    },
  },
  schemas: { AuditSearchPage: schema(searchPageSchema) },
};

export const applicationsRoute: ApiRoute = {
  method: "get",
  paths: ["/cc/api/application"],
  handlers: factory.createHandlers(requireScope("audit:read"), async (c) => {
    const principal = c.get("principal");
    if (!isAdmin(principal)) return c.json([{ appID: principal.rpAppId as string }]);
    // Admin tokens are bound to no app. The security application is always listed, so per-app pollers
    // see the brute-force signals; applications with settings but no token yet are listed too.
    const [tokens, settings] = await Promise.all([
      listRegisteredTokens(c.env.CONTROL_DB),
      listSettings(c.env.CONTROL_DB),
    ]);
    const apps = new Set([...tokens.flatMap((r) => (r.rpAppId ? [r.rpAppId] : [])), ...settings.map((s) => s.appId)]);
    apps.add(configOf(c.env).securityAppId);
    return c.json([...apps].sort().map((appID) => ({ appID })));
  }),
  operation: {
    operationId: "listApplications",
    tags: ["Audit"],
    summary: "List the RP applications (admin: all of them and the security application; audit:read: its own)",
    description:
      "What a SIEM integration polls: every application's trail, plus the security application's. An application token with audit:read sees only its own application.",
    security: bearer,
    responses: {
      "200": ok("Applications.", ref("Applications"), [{ appID: "HYPRDefaultWorkstationApplication" }]),
      ...errors(...AUTH_ERRORS, ...API_ERRORS),
    },
  },
  schemas: { Applications: schema(applicationsSchema) },
};
