import { Hono } from "hono";
import { createFactory, createMiddleware } from "hono/factory";
import { AuditEventName } from "../audit/event";
import { recordAudit } from "../audit/record";
import { configOf } from "../config";
import { type RedeemResult, redeemFallbackCode } from "../fallback/fallback-service";
import { pendingKeys } from "../fallback/payload-crypto";
import { pendingQrRequestSchema } from "../fallback/schemas";
import type { AppEnv } from "../http/context";
import { AppError, ErrorCode } from "../http/errors";
import { limitBody, requireJsonBody } from "../http/middleware";
import { toAppError } from "../http/on-error";
import { validate } from "../http/validate";
import { assertNotLockedDown, reportFailedLookup } from "../security/lockdown";
import { limitLookups } from "../security/rate-limit";

export const PENDING_QR_PATHS = ["/rp/versioned/device/pendingqr", "/rp/device/pendingqr"];

type LookupEnv = AppEnv & { Variables: { lookup?: RedeemResult } };

const OUTCOME_MESSAGES: Record<RedeemResult["outcome"], string> = {
  retrieved: "QR fallback payload retrieved",
  expired: "QR fallback lookup failed: the code has expired",
  unknown: "QR fallback lookup failed: no pending payload for the code",
  malformed: "QR fallback lookup failed: the code is malformed",
};

/** Every lookup request is audited, whatever ends it: success, miss, bad body, limit or lockdown. */
const auditLookup = createMiddleware<LookupEnv>(async (c, next) => {
  await next();
  const lookup = c.get("lookup");
  const error = c.error ? toAppError(c.error) : null;
  const known = lookup && (lookup.outcome === "retrieved" || lookup.outcome === "expired") ? lookup : null;
  await recordAudit(c, {
    eventName: AuditEventName.PAYLOAD_RETRIEVED,
    message:
      error && !lookup ? `QR fallback lookup refused: ${error.code}` : OUTCOME_MESSAGES[lookup?.outcome ?? "malformed"],
    subName: "device/pendingqr",
    rpAppId: known?.rpAppId ?? null,
    isSuccessful: error === null,
    errorCode: error?.code ?? null,
    fallbackId: known?.fallbackId,
  });
});

const lockdownGate = createMiddleware<LookupEnv>(async (_c, next) => {
  assertNotLockedDown();
  await next();
});

export const pendingQrRoutes = new Hono<LookupEnv>();

const lookup = createFactory<LookupEnv>().createHandlers(
  auditLookup,
  lockdownGate,
  limitLookups,
  limitBody,
  requireJsonBody,
  validate("json", pendingQrRequestSchema),
  async (c) => {
    const config = configOf(c.env);
    const keys = await pendingKeys(config.serverSecret);
    const result = await redeemFallbackCode(c.env.QR_KV, keys, config, c.req.valid("json").activationCode);
    c.set("lookup", result);
    if (result.outcome !== "retrieved") {
      await reportFailedLookup(c.env.FAILURE_BUDGET, config);
      throw new AppError(ErrorCode.QR_FALLBACK_NOT_FOUND, "No pending QR code matches this activation code.");
    }
    return c.json({ qrCode: result.qrCode });
  },
);
for (const path of PENDING_QR_PATHS) pendingQrRoutes.post(path, ...lookup);
