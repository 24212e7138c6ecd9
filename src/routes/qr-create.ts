import type { Context } from "hono";
import { createFactory } from "hono/factory";
import { AuditEventName } from "../../common/audit-contract";
import { regionOfRequest } from "../../common/regions.js";
import { auditEventOf, recordAudit } from "../audit/record";
import { actingApp, requireScope } from "../auth/bearer";
import { configOf } from "../config";
import { effectiveSettings } from "../controls/app-settings";
import {
  API_ERRORS,
  AUTH_ERRORS,
  BODY_ERRORS,
  bearer,
  EXAMPLE_CODE,
  EXAMPLE_QR,
  errors,
  jsonBody,
  ok,
  ref,
  schema,
} from "../docs/openapi-parts";
import { codeFormats, createAuthenticationQr, createRegistrationQr, type QrOptions } from "../fallback/create-qr";
import { PendingCodes } from "../fallback/pending-codes";
import { qrImageSvg } from "../fallback/qr-image";
import {
  authenticationRequestSchema,
  authenticationResponseSchema,
  registrationRequestSchema,
  registrationResponseSchema,
} from "../fallback/schemas";
import type { AppEnv } from "../http/context";
import { AppError, ErrorCode } from "../http/errors";
import { limitBody, requireJsonBody } from "../http/middleware";
import type { ApiRoute } from "../http/route";
import { validate } from "../http/validate";
import { limitCreates } from "../security/client-limits";
import { budgetSettings } from "../security/guess-budget";

const factory = createFactory<AppEnv>();

/**
 * The application's settings (its lifetime and base URL, or the deployment's) shape the QR; a
 * fallback code, when asked for, needs the application enabled, and is long while attack mode is on
 * (the code's claim shard says so: PendingCodes.reserve).
 */
async function qrOptions(
  c: Context<AppEnv>,
  rpAppId: string,
  includeFallback: boolean,
  subName: IssuedFrom,
): Promise<QrOptions> {
  const config = configOf(c.env);
  const settings = effectiveSettings(config, c.get("controls").settingsOf(rpAppId));
  const base = { rpUrl: settings.rpUrl, qrTtlSeconds: settings.qrTtlSeconds };
  if (!includeFallback) return { ...base, fallback: null };
  if (!settings.enabled) {
    throw new AppError(ErrorCode.QR_FALLBACK_DISABLED, "QR fallback codes are turned off for this RP application.");
  }
  const store = await PendingCodes.open(c.env.QR_KV, c.env.CODE_CLAIMS, config.serverSecret);
  const issuedEventOf = (fallbackId: string) => auditEventOf(c, codeIssued(rpAppId, fallbackId, subName));
  const placement = {
    region: regionOfRequest(c.req.raw.cf as IncomingRequestCfProperties | undefined, config.claims.defaultRegion),
    legacyUntil: config.claims.legacyUntil,
  };
  return {
    ...base,
    fallback: { store, formats: codeFormats(config), settings: budgetSettings(config), placement, issuedEventOf },
  };
}

const createErrors = errors(
  ...BODY_ERRORS,
  ...AUTH_ERRORS,
  ErrorCode.QR_FALLBACK_DISABLED,
  ErrorCode.RATE_LIMITED,
  ErrorCode.CODE_SPACE_EXHAUSTED,
  ...API_ERRORS,
);
const createDescription =
  "Creates a QR payload for the token's RP application (its lifetime and base URL from the application's settings). With includeQRFallbackCode the payload is also cached under a short activation code (long while attack mode is on) that the mobile app can type instead of scanning; 403 QR_FALLBACK_DISABLED when the application has the fallback turned off. Needs the qr:create scope.";

export const registrationRoute: ApiRoute = {
  method: "post",
  paths: ["/rp/versioned/client/qr/create"],
  handlers: factory.createHandlers(
    limitBody,
    requireJsonBody,
    requireScope("qr:create"),
    limitCreates,
    validate("json", registrationRequestSchema),
    async (c) => {
      const body = c.req.valid("json");
      const rpAppId = actingApp(c.get("principal"), body.rpAppId);
      const options = await qrOptions(c, rpAppId, body.includeQRFallbackCode, "client/qr/create");
      const qr = await createRegistrationQr(options, rpAppId);
      const image = body.includeQRImage ? { qrImageSvg: qrImageSvg(qr.qrCode) } : {};
      if (qr.fallback) {
        if (!qr.fallback.eventKept) recordAudit(c, codeIssued(rpAppId, qr.fallback.fallbackId, "client/qr/create"));
        return c.json({
          qrCode: qr.qrCode,
          expirationTime: qr.expirationTime,
          ...image,
          qrFallbackActivationCode: qr.fallback.activationCode,
          activationCode: qr.fallback.activationCode,
        });
      }
      return c.json({ qrCode: qr.qrCode, expirationTime: qr.expirationTime, ...image });
    },
  ),
  operation: {
    operationId: "createRegistrationQr",
    tags: ["QR codes"],
    summary: "Create a registration QR",
    description: createDescription,
    security: bearer,
    requestBody: jsonBody("RegistrationRequest"),
    responses: {
      "200": ok("The QR payload (and the activation code when asked for).", ref("RegistrationResponse"), {
        qrCode: EXAMPLE_QR,
        expirationTime: 1764412345678,
        qrFallbackActivationCode: EXAMPLE_CODE,
        activationCode: EXAMPLE_CODE,
      }),
      ...createErrors,
    },
  },
  schemas: {
    RegistrationRequest: schema(registrationRequestSchema, "input"),
    RegistrationResponse: schema(registrationResponseSchema),
  },
};

export const authenticationRoute: ApiRoute = {
  method: "post",
  paths: ["/rp/api/oob/qr/client/authentication/requests", "/oob/qr/client/authentication/requests"],
  handlers: factory.createHandlers(
    limitBody,
    requireJsonBody,
    requireScope("qr:create"),
    limitCreates,
    validate("json", authenticationRequestSchema),
    async (c) => {
      const body = c.req.valid("json");
      const rpAppId = actingApp(c.get("principal"), body.appId);
      const subName = "oob/qr/client/authentication/requests";
      const qr = await createAuthenticationQr(await qrOptions(c, rpAppId, body.includeQRFallbackCode, subName), {
        rpAppId,
        actionId: body.actionId,
        sessionNonce: body.sessionNonce,
      });
      const response = {
        status: { responseCode: 200, responseMessage: "QR authentication request created" },
        response: {
          requestId: qr.requestId,
          qrCode: qr.qrCode,
          expirationTime: qr.expirationTime,
          ...(body.includeQRImage ? { qrImageSvg: qrImageSvg(qr.qrCode) } : {}),
        },
      };
      if (qr.fallback) {
        if (!qr.fallback.eventKept) recordAudit(c, codeIssued(rpAppId, qr.fallback.fallbackId, subName));
        return c.json({ ...response, activationCode: qr.fallback.activationCode });
      }
      return c.json(response);
    },
  ),
  operation: {
    operationId: "createAuthenticationQr",
    tags: ["QR codes"],
    summary: "Create an authentication QR",
    description: createDescription,
    security: bearer,
    requestBody: jsonBody("AuthenticationRequest"),
    responses: {
      "200": ok("The QR payload (and the activation code when asked for).", ref("AuthenticationResponse"), {
        status: { responseCode: 200, responseMessage: "QR authentication request created" },
        response: {
          requestId: "2c1d0e9f-8a7b-4c6d-9e5f-4a3b2c1d0e9f",
          qrCode: EXAMPLE_QR.replace("REGISTRATION", "AUTHENTICATION"),
          expirationTime: 1764412345678,
        },
        activationCode: EXAMPLE_CODE,
      }),
      ...createErrors,
    },
  },
  schemas: {
    AuthenticationRequest: schema(authenticationRequestSchema, "input"),
    AuthenticationResponse: schema(authenticationResponseSchema),
  },
};

type IssuedFrom = "client/qr/create" | "oob/qr/client/authentication/requests";

/** A code's issuance event: stored by its claim's shard with the claim (0.7 shards: sent by this isolate). */
function codeIssued(rpAppId: string, fallbackId: string, subName: IssuedFrom) {
  return {
    eventName: AuditEventName.CODE_ISSUED,
    message: "QR fallback activation code issued",
    subName,
    rpAppId,
    isSuccessful: true,
    errorCode: null,
    fallbackId,
  };
}
