import type { Config } from "../config";
import { type IssuedCode, issueFallbackCode } from "./fallback-service";
import type { PendingKeys } from "./payload-crypto";
import { authenticationQrCode, newPin, registrationQrCode } from "./qr-payload";

type QrConfig = Pick<Config, "rpUrl" | "qrTtlSeconds" | "codeLength" | "codeAlphabet">;

export interface CreatedQr {
  qrCode: string;
  expirationTime: number;
  /** Present only when the caller asked for a fallback code: then the payload is cached. */
  fallback?: IssuedCode;
}

/** Builds a QR payload and, on request only (cache on delivery), caches it under a fresh code. */
async function create(
  kv: KVNamespace,
  keys: PendingKeys,
  config: QrConfig,
  rpAppId: string,
  includeFallback: boolean,
  build: (expiresAt: number, activationCode?: string) => string,
): Promise<CreatedQr> {
  const expirationTime = Date.now() + config.qrTtlSeconds * 1000;
  if (!includeFallback) return { qrCode: build(expirationTime), expirationTime };
  const issued = await issueFallbackCode(kv, keys, config, {
    rpAppId,
    expiresAt: expirationTime,
    buildQrCode: (code) => build(expirationTime, code),
  });
  return {
    qrCode: issued.qrCode,
    expirationTime,
    fallback: { activationCode: issued.activationCode, fallbackId: issued.fallbackId },
  };
}

export function createRegistrationQr(
  kv: KVNamespace,
  keys: PendingKeys,
  config: QrConfig,
  rpAppId: string,
  includeFallback: boolean,
): Promise<CreatedQr> {
  const sessionId = crypto.randomUUID();
  const pin = newPin();
  return create(kv, keys, config, rpAppId, includeFallback, (expiresAt, code) =>
    registrationQrCode({ rpAppId, rpUrl: config.rpUrl, sessionId, pin, expiresAt }, code),
  );
}

export async function createAuthenticationQr(
  kv: KVNamespace,
  keys: PendingKeys,
  config: QrConfig,
  request: { rpAppId: string; actionId?: string; sessionNonce?: string },
  includeFallback: boolean,
): Promise<CreatedQr & { requestId: string }> {
  const requestId = crypto.randomUUID();
  const pin = newPin();
  const created = await create(kv, keys, config, request.rpAppId, includeFallback, (expiresAt, code) =>
    authenticationQrCode(
      {
        rpAppId: request.rpAppId,
        rpUrl: config.rpUrl,
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
