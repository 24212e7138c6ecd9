import { Hono } from "hono";
import { createFactory } from "hono/factory";
import { AuditEventName } from "../../common/audit-contract";
import { recordAudit } from "../audit/record";
import { actingApp, requireToken } from "../auth/bearer";
import { configOf } from "../config";
import { createAuthenticationQr, createRegistrationQr, issueFormat, type QrOptions } from "../fallback/create-qr";
import { PendingCodes } from "../fallback/pending-codes";
import { qrImageSvg } from "../fallback/qr-image";
import { authenticationRequestSchema, registrationRequestSchema } from "../fallback/schemas";
import type { AppEnv } from "../http/context";
import { validate } from "../http/validate";
import { limitCreates } from "../security/client-limits";
import { issueLongCodes } from "../security/guess-lease";

export const REGISTRATION_PATH = "/rp/versioned/client/qr/create";
export const AUTHENTICATION_PATHS = [
  "/rp/api/oob/qr/client/authentication/requests",
  "/oob/qr/client/authentication/requests",
];

export const qrCreateRoutes = new Hono<AppEnv>();

/** A fallback code, when asked for, is long while attack mode is on (issueLongCodes bounds the delay). */
async function qrOptions(env: Env, includeFallback: boolean): Promise<QrOptions> {
  const config = configOf(env);
  const base = { rpUrl: config.rpUrl, qrTtlSeconds: config.qrTtlSeconds };
  if (!includeFallback) return { ...base, fallback: null };
  const [long, store] = await Promise.all([
    issueLongCodes(env.GUESS_BUDGET),
    PendingCodes.open(env.QR_KV, env.CODE_CLAIMS, config.serverSecret),
  ]);
  return { ...base, fallback: { store, ...issueFormat(config, long) } };
}

qrCreateRoutes.post(
  REGISTRATION_PATH,
  requireToken,
  limitCreates,
  validate("json", registrationRequestSchema),
  async (c) => {
    const body = c.req.valid("json");
    const rpAppId = actingApp(c.get("principal"), body.rpAppId);
    const qr = await createRegistrationQr(await qrOptions(c.env, body.includeQRFallbackCode), rpAppId);
    const image = body.includeQRImage ? { qrImageSvg: qrImageSvg(qr.qrCode) } : {};
    if (qr.fallback) {
      recordAudit(c, codeIssued(rpAppId, qr.fallback.fallbackId, "client/qr/create"));
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
);

const createAuthentication = createFactory<AppEnv>().createHandlers(
  requireToken,
  limitCreates,
  validate("json", authenticationRequestSchema),
  async (c) => {
    const body = c.req.valid("json");
    const rpAppId = actingApp(c.get("principal"), body.appId);
    const qr = await createAuthenticationQr(await qrOptions(c.env, body.includeQRFallbackCode), {
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
      recordAudit(c, codeIssued(rpAppId, qr.fallback.fallbackId, "oob/qr/client/authentication/requests"));
      return c.json({ ...response, activationCode: qr.fallback.activationCode });
    }
    return c.json(response);
  },
);
for (const path of AUTHENTICATION_PATHS) qrCreateRoutes.post(path, ...createAuthentication);

function codeIssued(rpAppId: string, fallbackId: string, subName: string) {
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
