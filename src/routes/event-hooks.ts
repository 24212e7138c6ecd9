import { Hono } from "hono";
import { requireAdmin, requireToken } from "../auth/bearer";
import { configOf } from "../config";
import { createHook, deleteHook, getHookStatus, listHooks } from "../hooks/hook-store";
import { endpointProblem, eventHookRequestSchema } from "../hooks/schemas";
import type { AppEnv } from "../http/context";
import { AppError, ErrorCode } from "../http/errors";
import { limitBody, requireJsonBody } from "../http/middleware";
import { validate } from "../http/validate";

/** Custom Event Hooks (admin): push the trail's events to a SIEM endpoint, signed, at least once. */
export const EVENT_HOOKS_PATH = "/cc/api/eventhooks";
export const EVENT_HOOK_PATH = "/cc/api/eventhooks/:id";

export const eventHookRoutes = new Hono<AppEnv>();

eventHookRoutes.post(
  EVENT_HOOKS_PATH,
  limitBody,
  requireJsonBody,
  requireToken,
  validate("json", eventHookRequestSchema),
  async (c) => {
    requireAdmin(c.get("principal"));
    const body = c.req.valid("json");
    const config = configOf(c.env);
    const problem = endpointProblem(body.invocationEndpoint, config.eventHooks.allowLocal);
    if (problem) throw new AppError(ErrorCode.INVALID_REQUEST, `The request is not valid (${problem}).`);
    const { hook, secret } = await createHook(c.env.QR_KV, config.serverSecret, {
      ...body,
      rpAppId: body.rpAppId ?? null,
    });
    // The signing secret is shown once, here; header values are never returned.
    return c.json({ ...hook, secret }, 201);
  },
);

eventHookRoutes.get(EVENT_HOOKS_PATH, requireToken, async (c) => {
  requireAdmin(c.get("principal"));
  const hooks = await listHooks(c.env.QR_KV);
  const statuses = await Promise.all(hooks.map((h) => getHookStatus(c.env.QR_KV, h.id)));
  return c.json(hooks.map((h, i) => ({ ...h, status: statuses[i] })));
});

eventHookRoutes.delete(EVENT_HOOK_PATH, requireToken, async (c) => {
  requireAdmin(c.get("principal"));
  if (!(await deleteHook(c.env.QR_KV, c.req.param("id")))) {
    throw new AppError(ErrorCode.NOT_FOUND, "No such event hook.");
  }
  return c.body(null, 204);
});
