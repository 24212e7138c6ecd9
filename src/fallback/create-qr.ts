import type { QueuedAuditEvent } from "../../common/audit-contract";
import type { Region } from "../../common/regions.js";
import type { Config } from "../config";
import { AppError, ErrorCode } from "../http/errors";
import type { BudgetSettings } from "../security/guess-budget";
import type { CodeFormats, PendingCodes } from "./pending-codes";
import { authenticationQrCode, newPin, registrationQrCode } from "./qr-payload";

/** How a create request wants its QR: with a fallback code of this format, or without one. */
export interface QrOptions {
  rpUrl: string;
  qrTtlSeconds: number;
  /** null: no fallback code, nothing cached (cache on delivery). */
  fallback: {
    store: PendingCodes;
    formats: CodeFormats;
    settings: BudgetSettings;
    /** Where the code is claimed: the create's region, and the 0.7 shards until legacyUntil. */
    placement: { region: Region; legacyUntil: number };
    /** The issuance event, stored with the code's claim (durable before the answer). */
    issuedEventOf: (fallbackId: string) => QueuedAuditEvent;
  } | null;
}

export interface CreatedQr {
  qrCode: string;
  expirationTime: number;
  /** Present only when a fallback code was asked for: then the payload is cached under it. */
  fallback?: { activationCode: string; fallbackId: string; eventKept: boolean };
}

/** Reserve a code (when asked), build the payload that carries it, cache the payload: in that order. */
async function create(options: QrOptions, rpAppId: string, build: (expiresAt: number, code?: string) => string) {
  const expirationTime = Date.now() + options.qrTtlSeconds * 1000;
  if (!options.fallback) return { qrCode: build(expirationTime), expirationTime };
  const { store, formats, settings, placement, issuedEventOf } = options.fallback;
  const reserved = await store.reserve(formats, expirationTime, settings, placement, undefined, issuedEventOf);
  if (!reserved)
    throw new AppError(ErrorCode.CODE_SPACE_EXHAUSTED, "No free activation code could be drawn; try again.");
  const qrCode = build(expirationTime, reserved.activationCode);
  await store.write(reserved, qrCode, rpAppId, options.qrTtlSeconds);
  return {
    qrCode,
    expirationTime,
    fallback: {
      activationCode: reserved.activationCode,
      fallbackId: reserved.fallbackId,
      eventKept: reserved.eventKept,
    },
  };
}

export function createRegistrationQr(options: QrOptions, rpAppId: string): Promise<CreatedQr> {
  const sessionId = crypto.randomUUID();
  const pin = newPin();
  return create(options, rpAppId, (expiresAt, code) =>
    registrationQrCode({ rpAppId, rpUrl: options.rpUrl, sessionId, pin, expiresAt }, code),
  );
}

export async function createAuthenticationQr(
  options: QrOptions,
  request: { rpAppId: string; actionId?: string; sessionNonce?: string },
): Promise<CreatedQr & { requestId: string }> {
  const requestId = crypto.randomUUID();
  const pin = newPin();
  const created = await create(options, request.rpAppId, (expiresAt, code) =>
    authenticationQrCode(
      {
        rpAppId: request.rpAppId,
        rpUrl: options.rpUrl,
        requestId,
        actionId: request.actionId ?? null,
        sessionNonce: request.sessionNonce ?? null,
        pin,
        expiresAt,
      },
      code,
    ),
  );
  return { ...created, requestId };
}

/** The code formats a create may issue: normal-length, or long while attack mode is on. */
export function codeFormats(config: Pick<Config, "codeLength" | "codeAlphabet" | "guessing">): CodeFormats {
  return {
    normal: { length: config.codeLength, alphabet: config.codeAlphabet },
    long: { length: config.guessing.attackCodeLength, alphabet: config.codeAlphabet },
  };
}
