import { createFactory, createMiddleware } from "hono/factory";
import { AuditEventName } from "../../common/audit-contract";
import { recordAudit } from "../audit/record";
import { countRefusal } from "../audit/refusals";
import { configOf } from "../config";
import {
  API_ERRORS,
  BODY_ERRORS,
  EXAMPLE_CODE,
  EXAMPLE_QR,
  errors,
  jsonBody,
  ok,
  ref,
  schema,
} from "../docs/openapi-parts";
import { codeClassOf, normalizeActivationCode } from "../fallback/activation-code";
import { PendingCodes, type RedeemResult } from "../fallback/pending-codes";
import { pendingQrRequestSchema, pendingQrResponseSchema } from "../fallback/schemas";
import type { AppEnv } from "../http/context";
import { AppError, ErrorCode } from "../http/errors";
import { limitBody, requireJsonBody } from "../http/middleware";
import { toAppError } from "../http/on-error";
import type { ApiRoute } from "../http/route";
import { validate } from "../http/validate";
import { limitLookups, lookupClientOf, recordFailedLookup } from "../security/client-limits";
import { budgetSettings, holdGuess } from "../security/guess-lease";

type LookupEnv = AppEnv & { Variables: { lookup?: RedeemResult } };

const OUTCOME_MESSAGES: Record<RedeemResult["outcome"], string> = {
  retrieved: "QR fallback payload retrieved",
  expired: "QR fallback lookup failed: the code has expired",
  unknown: "QR fallback lookup failed: no pending payload for the code",
  malformed: "QR fallback lookup failed: the code is malformed",
};

/** Refused before the code check: summarized per client network, reason and minute, not one by one. */
const SUMMARIZED_REFUSALS = new Set<string>([
  ErrorCode.RATE_LIMITED,
  ErrorCode.ATTACK_MODE,
  ErrorCode.GUESS_BUDGET_UNAVAILABLE,
  ErrorCode.PAYLOAD_TOO_LARGE,
  ErrorCode.UNSUPPORTED_MEDIA_TYPE,
  ErrorCode.INVALID_REQUEST,
]);

/**
 * Every lookup that reaches the code check gets its own event (success, miss, malformed code);
 * requests refused before it are counted into the trail's refusal summaries, so a flood of any size
 * adds a bounded number of rows.
 */
const auditLookup = createMiddleware<LookupEnv>(async (c, next) => {
  await next();
  const lookup = c.get("lookup");
  const error = c.error ? toAppError(c.error) : null;
  if (error && !lookup && SUMMARIZED_REFUSALS.has(error.code)) {
    const { network } = c.get("lookupClient") ?? lookupClientOf(c.req.raw);
    countRefusal(c.env.CLIENT_LEDGER, configOf(c.env), network, error.code, (p) => c.executionCtx.waitUntil(p));
    return;
  }
  const known = lookup && (lookup.outcome === "retrieved" || lookup.outcome === "expired") ? lookup : null;
  recordAudit(c, {
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

const notFound = () =>
  new AppError(ErrorCode.QR_FALLBACK_NOT_FOUND, "No pending QR code matches this activation code.");

const lookup = createFactory<LookupEnv>().createHandlers(
  auditLookup,
  limitLookups,
  limitBody,
  requireJsonBody,
  validate("json", pendingQrRequestSchema),
  async (c) => {
    const config = configOf(c.env);
    const code = normalizeActivationCode(c.req.valid("json").activationCode);
    // Malformed codes are answered like any miss, but never evaluated nor counted as guesses.
    const codeClass = codeClassOf(code, config);
    if (!codeClass) {
      c.set("lookup", { outcome: "malformed" });
      throw notFound();
    }
    const waitUntil = (p: Promise<unknown>) => c.executionCtx.waitUntil(p);
    // Budget before evaluation: no unit of the deployment-wide guess budget, no evaluation.
    const held = await holdGuess(c.env.GUESS_BUDGET, budgetSettings(config), codeClass, waitUntil);
    const store = await PendingCodes.open(c.env.QR_KV, c.env.CODE_CLAIMS, config.claimSharding, config.serverSecret);
    const result = await store.redeem(code, waitUntil);
    c.set("lookup", result);
    if (result.outcome !== "unknown") held.giveBack(); // a real code (even expired) is not a wrong guess
    if (result.outcome === "retrieved") return c.json({ qrCode: result.qrCode });
    if (result.outcome === "unknown") {
      const { clientDailyFailures, networkDailyFailures, ledgerBatchMs } = config.guessing;
      recordFailedLookup(
        c.env.CLIENT_LEDGER,
        { clientDailyFailures, networkDailyFailures, batchMs: ledgerBatchMs },
        c.get("lookupClient"),
        waitUntil,
      );
    }
    throw notFound();
  },
);

export const pendingQrRoute: ApiRoute = {
  method: "post",
  paths: ["/rp/versioned/device/pendingqr", "/rp/device/pendingqr"],
  handlers: lookup,
  operation: {
    operationId: "fetchPendingQr",
    tags: ["QR codes"],
    summary: "Fetch a pending QR payload by activation code (open, single use)",
    description:
      "Open endpoint for the mobile app. Unknown, expired, used and malformed codes get one identical 400 answer. Limited per client and network; codes of the normal length are refused with 503 ATTACK_MODE while attack mode is on.",
    security: [],
    requestBody: jsonBody("PendingQrRequest", { activationCode: EXAMPLE_CODE }),
    responses: {
      "200": ok("The qrCode string, byte for byte as the workstation received it.", ref("PendingQrResponse"), {
        qrCode: EXAMPLE_QR,
      }),
      ...errors(
        ...BODY_ERRORS,
        ErrorCode.QR_FALLBACK_NOT_FOUND,
        ErrorCode.RATE_LIMITED,
        ErrorCode.ATTACK_MODE,
        ErrorCode.GUESS_BUDGET_UNAVAILABLE,
        ...API_ERRORS,
      ),
    },
  },
  schemas: {
    PendingQrRequest: schema(pendingQrRequestSchema, "input"),
    PendingQrResponse: schema(pendingQrResponseSchema),
  },
};
