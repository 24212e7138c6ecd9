import { createFactory, createMiddleware } from "hono/factory";
import { AuditEventName } from "../../common/audit-contract";
import { regionOfRequest } from "../../common/regions.js";
import { buildAuditEvent, originOf } from "../audit/event";
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
import { budgetSettings } from "../security/guess-budget";

type LookupEnv = AppEnv & { Variables: { lookup?: RedeemResult; longCode?: boolean } };

type EvaluatedOutcome = "retrieved" | "expired" | "unknown";
const OUTCOME_MESSAGES: Record<EvaluatedOutcome, string> = {
  retrieved: "QR fallback payload retrieved",
  expired: "QR fallback lookup failed: the code has expired",
  unknown: "QR fallback lookup failed: no pending payload for the code",
};
/** A served lookup's event, as recordAudit would write it (the shard stores it with the redemption). */
const RETRIEVED_FIELDS = {
  eventName: AuditEventName.PAYLOAD_RETRIEVED,
  message: OUTCOME_MESSAGES.retrieved,
  subName: "device/pendingqr",
  isSuccessful: true,
  errorCode: null,
} as const;

/** The refusal summaries' reason for malformed codes (answered as any miss, never evaluated). */
export const MALFORMED_CODE = "MALFORMED_CODE";
/** ...and for wrong long codes: no budget bounds them, so they are summarized, not written one by one. */
export const UNKNOWN_LONG_CODE = "UNKNOWN_LONG_CODE";

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
 * Every code found (served, expired) and every wrong normal-length code evaluated gets its own event:
 * the guess budget bounds them. Everything else (refused before evaluation, attack mode, malformed
 * codes, wrong long codes) is counted into the trail's refusal summaries, so a flood of any size adds
 * a bounded number of rows.
 */
const auditLookup = createMiddleware<LookupEnv>(async (c, next) => {
  await next();
  const lookup = c.get("lookup");
  const error = c.error ? toAppError(c.error) : null;
  const refusal =
    lookup?.outcome === "malformed"
      ? MALFORMED_CODE
      : lookup?.outcome === "unknown" && c.get("longCode")
        ? UNKNOWN_LONG_CODE
        : error && (!lookup || lookup.outcome === "attack" || lookup.outcome === "unavailable")
          ? SUMMARIZED_REFUSALS.has(error.code)
            ? error.code
            : null
          : null;
  if (refusal) {
    const { network } = c.get("lookupClient") ?? lookupClientOf(c.req.raw);
    countRefusal(c.env.CLIENT_LEDGER, configOf(c.env), network, refusal, (p) => c.executionCtx.waitUntil(p));
    return;
  }
  // A served lookup's event was stored by the claim's shard with the redemption (it sends it).
  if (lookup?.outcome === "retrieved" && lookup.eventKept && !error) return;
  const evaluated =
    lookup?.outcome === "retrieved" || lookup?.outcome === "expired" || lookup?.outcome === "unknown" ? lookup : null;
  const known = evaluated && evaluated.outcome !== "unknown" ? evaluated : null;
  recordAudit(c, {
    eventName: AuditEventName.PAYLOAD_RETRIEVED,
    message: evaluated
      ? OUTCOME_MESSAGES[evaluated.outcome]
      : `QR fallback lookup refused: ${error?.code ?? "unknown"}`,
    subName: RETRIEVED_FIELDS.subName,
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
    const waitUntil = (p: Promise<unknown>) => c.executionCtx.waitUntil(p);
    const countFailure = () => {
      const { clientDailyFailures, networkDailyFailures, ledgerBatchMs } = config.guessing;
      recordFailedLookup(
        c.env.CLIENT_LEDGER,
        { clientDailyFailures, networkDailyFailures, batchMs: ledgerBatchMs },
        c.get("lookupClient"),
        waitUntil,
      );
    };
    const code = normalizeActivationCode(c.req.valid("json").activationCode);
    // Malformed codes are answered like any miss and count toward the client's caps, but are never evaluated.
    const codeClass = codeClassOf(code, config);
    if (!codeClass) {
      c.set("lookup", { outcome: "malformed" });
      countFailure();
      throw notFound();
    }
    // The claim shard evaluates the code only with a unit of the guess budget (normal length).
    c.set("longCode", codeClass === "long");
    const store = await PendingCodes.open(c.env.QR_KV, c.env.CODE_CLAIMS, config.serverSecret);
    const result = await store.redeem(
      code,
      codeClass,
      budgetSettings(config),
      waitUntil,
      (entry) =>
        buildAuditEvent(config, originOf(c.req.raw, c.get("requestId")), {
          ...RETRIEVED_FIELDS,
          rpAppId: entry.rpAppId,
          fallbackId: entry.fallbackId,
        }),
      regionOfRequest(c.req.raw.cf as IncomingRequestCfProperties | undefined, config.claims.defaultRegion),
    );
    c.set("lookup", result);
    if (result.outcome === "retrieved") return c.json({ qrCode: result.qrCode });
    if (result.outcome === "attack") {
      countFailure(); // refused guesses count toward the client's and network's daily caps
      throw new AppError(
        ErrorCode.ATTACK_MODE,
        "Codes of this length are refused while the service is under attack: ask the workstation for a new code.",
        Math.max(1, Math.ceil((result.until - Date.now()) / 1000)),
      );
    }
    if (result.outcome === "unavailable") {
      throw new AppError(
        ErrorCode.GUESS_BUDGET_UNAVAILABLE,
        "Activation-code lookups are unavailable for a moment; try again.",
        5,
      );
    }
    if (result.outcome === "unknown") countFailure();
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
