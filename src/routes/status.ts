import { createFactory } from "hono/factory";
import * as z from "zod/mini";
import { getAuditBacklog } from "../../common/audit-held";
import { version } from "../../package.json";
import { requireScope } from "../auth/bearer";
import { API_ERRORS, AUTH_ERRORS, bearer, errors, ok, ref, schema } from "../docs/openapi-parts";
import type { AppEnv } from "../http/context";
import type { ApiRoute } from "../http/route";
import { KEEPER_NAME } from "../security/guess-budget";

const modeSchema = z.object({ active: z.boolean(), until: z.nullable(z.int()) });
const statusSchema = z.object({
  version: z.string(),
  /** Normal-length codes refused, long codes issued (docs/security-model.md); longCodes: never on since 0.6.0. */
  attackMode: z.object({ normalCodes: modeSchema, longCodes: modeSchema }),
  /** Audit events that reached the dead-letter queue while the trail's database refused them, held in R2 until replayed. */
  auditBacklog: z.object({
    batches: z.int(),
    events: z.int(),
    oldestAt: z.nullable(z.int()),
    /** When the audit consumer last counted it (null: nothing was ever held). */
    countedAt: z.nullable(z.int()),
  }),
});

const mode = (until: number, now: number) => ({ active: until > now, until: until > now ? until : null });

export const statusRoute: ApiRoute = {
  method: "get",
  paths: ["/cc/api/qrfallback/status"],
  handlers: createFactory<AppEnv>().createHandlers(requireScope("admin"), async (c) => {
    const [attack, auditBacklog] = await Promise.all([
      c.env.GUESS_BUDGET.get(c.env.GUESS_BUDGET.idFromName(KEEPER_NAME)).attackState(),
      getAuditBacklog(c.env.QR_KV),
    ]);
    const now = Date.now();
    return c.json({
      version,
      attackMode: { normalCodes: mode(attack.normal, now), longCodes: mode(attack.long, now) },
      auditBacklog,
    });
  }),
  operation: {
    operationId: "getStatus",
    tags: ["Applications"],
    summary: "The deployment's state: attack mode per code class, the held audit backlog (admin token)",
    description:
      "Attack mode is read from the guess-budget keeper, so it is current, not an isolate's copy. auditBacklog counts the dead-lettered audit events held in R2 until the trail and the hooks take them, as the audit consumer last counted them (after each hold and each minute's replay).",
    security: bearer,
    responses: {
      "200": ok("The state.", ref("Status")),
      ...errors(...AUTH_ERRORS, ...API_ERRORS),
    },
  },
  schemas: { Status: schema(statusSchema) },
};
