import { createFactory } from "hono/factory";
import * as z from "zod/mini";
import { statsSchema, trailStats } from "../audit/stats";
import { requireScope } from "../auth/bearer";
import { API_ERRORS, AUTH_ERRORS, bearer, errors, ok, ref, schema } from "../docs/openapi-parts";
import type { AppEnv } from "../http/context";
import { ErrorCode } from "../http/errors";
import type { ApiRoute } from "../http/route";
import { validate } from "../http/validate";
import { trailAppOf } from "./audit";

const query = z.object({ rpAppId: z.optional(z.string().check(z.minLength(1), z.maxLength(128))) });

/** The console's pictures: the trail's last hour per minute, read with the audit search's scope. */
export const auditStatsRoute: ApiRoute = {
  method: "get",
  paths: ["/cc/api/qrfallback/stats"],
  handlers: createFactory<AppEnv>().createHandlers(requireScope("audit:read"), validate("query", query), async (c) => {
    const app = trailAppOf(c.get("principal"), c.req.valid("query").rpAppId);
    return c.json(await trailStats(c.env.AUDIT_DB, app));
  }),
  operation: {
    operationId: "getAuditStats",
    tags: ["Audit"],
    summary: "Lookups (served, failed, refused) and codes issued per minute, the last hour, from the trail",
    description:
      "Scope as the audit search: audit:read reads its own application, admin all or one (rpAppId). Attack mode changes are listed.",
    security: bearer,
    parameters: [{ name: "rpAppId", in: "query", required: false, schema: { type: "string" } }],
    responses: {
      "200": ok("Counts per minute with events.", ref("AuditStats")),
      ...errors(ErrorCode.INVALID_REQUEST, ...AUTH_ERRORS, ...API_ERRORS),
    },
  },
  schemas: { AuditStats: schema(statsSchema) },
};
