import { createFactory } from "hono/factory";
import { requireScope } from "../auth/bearer";
import { configOf } from "../config";
import {
  API_ERRORS,
  AUTH_ERRORS,
  BODY_ERRORS,
  bearer,
  errors,
  jsonBody,
  noContent,
  ok,
  pathParameter,
  ref,
  schema,
} from "../docs/openapi-parts";
import { createHook, deleteHook, getHookStatus, listHooks } from "../hooks/hook-store";
import { endpointProblem, eventHookCreatedSchema, eventHookListSchema, eventHookRequestSchema } from "../hooks/schemas";
import type { AppEnv } from "../http/context";
import { AppError, ErrorCode } from "../http/errors";
import { limitBody, requireJsonBody } from "../http/middleware";
import type { ApiRoute } from "../http/route";
import { validate } from "../http/validate";

/** Custom Event Hooks (admin): push the trail's events to a SIEM endpoint, signed, at least once. */
const factory = createFactory<AppEnv>();
const tags = ["Event hooks"];

export const createEventHookRoute: ApiRoute = {
  method: "post",
  paths: ["/cc/api/eventhooks"],
  handlers: factory.createHandlers(
    limitBody,
    requireJsonBody,
    requireScope("admin"),
    validate("json", eventHookRequestSchema),
    async (c) => {
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
  ),
  operation: {
    operationId: "createEventHook",
    tags,
    summary: "Register an event hook (admin token)",
    description:
      "Matching events are pushed to the endpoint at least once, signed as Standard Webhooks define (webhook-id, webhook-timestamp, webhook-signature) under the whsec_ secret returned here once; the legacy X-QRF-Signature is sent too. Header values are stored sealed and never returned.",
    security: bearer,
    requestBody: jsonBody("EventHookRequest"),
    responses: {
      "201": ok("The hook, with its signing secret (shown once).", ref("EventHookCreated")),
      ...errors(...BODY_ERRORS, ...AUTH_ERRORS, ...API_ERRORS),
    },
  },
  schemas: {
    EventHookRequest: schema(eventHookRequestSchema, "input"),
    EventHookCreated: schema(eventHookCreatedSchema),
  },
};

export const listEventHooksRoute: ApiRoute = {
  method: "get",
  paths: ["/cc/api/eventhooks"],
  handlers: factory.createHandlers(requireScope("admin"), async (c) => {
    const hooks = await listHooks(c.env.QR_KV);
    const statuses = await Promise.all(hooks.map((h) => getHookStatus(c.env.QR_KV, h.id)));
    return c.json(hooks.map((h, i) => ({ ...h, status: statuses[i] })));
  }),
  operation: {
    operationId: "listEventHooks",
    tags,
    summary: "List the event hooks with their delivery status (admin token)",
    description: "Never returns a header value or a signing secret.",
    security: bearer,
    responses: { "200": ok("Hooks.", ref("EventHookList")), ...errors(...AUTH_ERRORS, ...API_ERRORS) },
  },
  schemas: { EventHookList: schema(eventHookListSchema) },
};

export const deleteEventHookRoute: ApiRoute = {
  method: "delete",
  paths: ["/cc/api/eventhooks/:id"],
  handlers: factory.createHandlers(requireScope("admin"), async (c) => {
    if (!(await deleteHook(c.env.QR_KV, c.req.param("id") ?? ""))) {
      throw new AppError(ErrorCode.NOT_FOUND, "No such event hook.");
    }
    return c.body(null, 204);
  }),
  operation: {
    operationId: "deleteEventHook",
    tags,
    summary: "Delete an event hook (admin token)",
    description: "Deliveries still queued for it are dropped.",
    security: bearer,
    parameters: [pathParameter("id", "The hook's id.")],
    responses: {
      "204": noContent("Deleted."),
      ...errors(...AUTH_ERRORS, ErrorCode.NOT_FOUND, ...API_ERRORS),
    },
  },
};
