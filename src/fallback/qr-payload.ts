import { randomHex } from "../lib/encoding";

/**
 * The text a workstation encodes in its QR image. Key order is fixed: the phone receives this exact
 * string, byte for byte, whether it scans the image or types the activation code.
 */
/** 256-bit pin from the CSPRNG, 64 hex characters. */
export function newPin(): string {
  return randomHex(32);
}

export interface RegistrationQr {
  rpAppId: string;
  rpUrl: string;
  sessionId: string;
  pin: string;
  expiresAt: number;
}

export function registrationQrCode(qr: RegistrationQr, activationCode?: string): string {
  return JSON.stringify({
    version: 1,
    type: "REGISTRATION",
    rpAppId: qr.rpAppId,
    rpUrl: qr.rpUrl,
    sessionId: qr.sessionId,
    pin: qr.pin,
    expiresAt: qr.expiresAt,
    ...(activationCode === undefined ? {} : { activationCode }),
  });
}

export interface AuthenticationQr {
  rpAppId: string;
  rpUrl: string;
  requestId: string;
  actionId: string | null;
  sessionNonce: string | null;
  pin: string;
  expiresAt: number;
}

export function authenticationQrCode(qr: AuthenticationQr, activationCode?: string): string {
  return JSON.stringify({
    version: 1,
    type: "AUTHENTICATION",
    rpAppId: qr.rpAppId,
    rpUrl: qr.rpUrl,
    requestId: qr.requestId,
    actionId: qr.actionId,
    sessionNonce: qr.sessionNonce,
    pin: qr.pin,
    expiresAt: qr.expiresAt,
    ...(activationCode === undefined ? {} : { activationCode }),
  });
}
