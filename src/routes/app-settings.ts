import { createFactory } from "hono/factory";
import * as z from "zod/mini";
import { AuditEventName } from "../../common/audit-contract";
import { auditEventOf, sendStoredAudit } from "../audit/record";
import { requireScope } from "../auth/bearer";
import { configOf } from "../config";
import {
  readAppSettings,
  settingsResponseSchema,
  settingsUpdateSchema,
  updateAppSettings,
} from "../controls/app-settings";
import { invalidateControls } from "../controls/controls-snapshot";
import {
  API_ERRORS,
  AUTH_ERRORS,
  BODY_ERRORS,
  bearer,
  errors,
  jsonBody,
  ok,
  pathParameter,
  ref,
  schema,
} from "../docs/openapi-parts";
import { rpAppIdSchema } from "../http/app-id";
import type { AppEnv } from "../http/context";
import { ErrorCode } from "../http/errors";
import { limitBody, requireJsonBody } from "../http/middleware";
import type { ApiRoute } from "../http/route";
import { validate } from "../http/validate";

/** QR Fallback Controls per RP application (SPEC §11), admin only. */
const factory = createFactory<AppEnv>();
const PATH = "/cc/api/application/:appId/qrfallback";
const appIdParam = z.object({ appId: rpAppIdSchema });
const tags = ["Applications"];
const parameters = [pathParameter("appId", "The RP application's id.")];
const example = {
  appId: "HYPRDefaultWorkstationApplication",
  enabled: true,
  qrTtlSeconds: 180,
  rpUrl: "https://qr.example.com",
  stored: { enabled: null, qrTtlSeconds: null, rpUrl: null },
  updatedAt: null,
  updatedBy: null,
};

export const getAppSettingsRoute: ApiRoute = {
  method: "get",
  paths: [PATH],
  handlers: factory.createHandlers(requireScope("admin"), validate("param", appIdParam), async (c) =>
    c.json(await readAppSettings(c.env.CONTROL_DB, configOf(c.env), c.req.valid("param").appId)),
  ),
  operation: {
    operationId: "getQrFallbackSettings",
    tags,
    summary: "An application's QR fallback settings (admin token)",
    description:
      "What applies (the stored choice or the deployment's default) and what was stored. An application nobody configured answers with the defaults.",
    security: bearer,
    parameters,
    responses: {
      "200": ok("The settings.", ref("QrFallbackSettings"), example),
      ...errors(ErrorCode.INVALID_REQUEST, ...AUTH_ERRORS, ...API_ERRORS),
    },
  },
  schemas: { QrFallbackSettings: schema(settingsResponseSchema) },
};

export const putAppSettingsRoute: ApiRoute = {
  method: "put",
  paths: [PATH],
  handlers: factory.createHandlers(
    limitBody,
    requireJsonBody,
    requireScope("admin"),
    validate("param", appIdParam),
    validate("json", settingsUpdateSchema),
    async (c) => {
      const { appId } = c.req.valid("param");
      const actor = c.get("principal").id;
      const result = await updateAppSettings(
        c.env.CONTROL_DB,
        configOf(c.env),
        appId,
        c.req.valid("json"),
        actor,
        (before, after) =>
          auditEventOf(c, {
            eventName: AuditEventName.SETTINGS_CHANGED,
            message: "QR fallback settings changed",
            subName: "application/qrfallback",
            rpAppId: appId,
            isSuccessful: true,
            errorCode: null,
            change: { actorTokenId: actor, settingsBefore: before, settingsAfter: after },
          }),
      );
      if (result.changed) {
        // This isolate sees the change at once; every other within the controls' bound (10 s).
        invalidateControls(c.env.CONTROL_DB);
        if (result.event) sendStoredAudit(c, result.event);
      }
      return c.json(result.settings);
    },
  ),
  operation: {
    operationId: "putQrFallbackSettings",
    tags,
    summary: "Change an application's QR fallback settings (admin token)",
    description:
      "Every field is optional; null puts a field back to the deployment's default. Disabled, create requests asking for a fallback code get 403 QR_FALLBACK_DISABLED (codes issued before still resolve until they expire). qrTtlSeconds (60 to 600) and rpUrl (https) shape the QR and the cached payload's lifetime. Takes effect at once on the isolate that served this request and everywhere within 9 s; every change is a QR_FALLBACK_SETTINGS_CHANGED event in the application's trail.",
    security: bearer,
    parameters,
    requestBody: jsonBody("QrFallbackSettingsUpdate", { enabled: true, qrTtlSeconds: 120 }),
    responses: {
      "200": ok("The settings after the change.", ref("QrFallbackSettings"), example),
      ...errors(...BODY_ERRORS, ...AUTH_ERRORS, ...API_ERRORS),
    },
  },
  schemas: { QrFallbackSettingsUpdate: schema(settingsUpdateSchema, "input") },
};
