import type { Config } from "../config";
import { AppError, ErrorCode } from "../http/errors";
import { generateActivationCode, isWellFormedCode, normalizeActivationCode } from "./activation-code";
import { indexIdOf, openPayload, type PendingKeys, sealPayload } from "./payload-crypto";
import { deleteSealed, getSealed, putSealed } from "./pending-store";

/** What is sealed under a code. `fallbackId` correlates issuance and lookup in the audit trail. */
export interface PendingEntry {
  qrCode: string;
  expiresAt: number;
  fallbackId: string;
  rpAppId: string;
}

export interface IssuedCode {
  activationCode: string;
  fallbackId: string;
}

const MAX_DRAWS = 8;

/**
 * Draws a code no live entry holds, builds the payload that carries it, and caches it sealed.
 * `buildQrCode` receives the code because the QR payload embeds it.
 */
export async function issueFallbackCode(
  kv: KVNamespace,
  keys: PendingKeys,
  config: Pick<Config, "codeLength" | "codeAlphabet" | "qrTtlSeconds">,
  entry: { rpAppId: string; expiresAt: number; buildQrCode: (activationCode: string) => string },
  drawCode: () => string = () => generateActivationCode(config.codeLength, config.codeAlphabet),
): Promise<IssuedCode & { qrCode: string }> {
  for (let draw = 0; draw < MAX_DRAWS; draw++) {
    const activationCode = drawCode();
    const indexId = await indexIdOf(keys, activationCode);
    if (await isLive(kv, keys, activationCode, indexId)) continue; // never replace a live code
    const fallbackId = crypto.randomUUID();
    const qrCode = entry.buildQrCode(activationCode);
    const pending: PendingEntry = { qrCode, expiresAt: entry.expiresAt, fallbackId, rpAppId: entry.rpAppId };
    const sealed = await sealPayload(keys, activationCode, indexId, JSON.stringify(pending));
    await putSealed(kv, indexId, sealed, config.qrTtlSeconds);
    return { activationCode, fallbackId, qrCode };
  }
  throw new AppError(ErrorCode.CODE_SPACE_EXHAUSTED, "No free activation code could be drawn; try again.");
}

async function isLive(kv: KVNamespace, keys: PendingKeys, code: string, indexId: string): Promise<boolean> {
  const sealed = await getSealed(kv, indexId);
  if (!sealed) return false;
  const entry = await unseal(keys, code, indexId, sealed);
  return entry !== null && entry.expiresAt > Date.now();
}

async function unseal(keys: PendingKeys, code: string, indexId: string, sealed: ArrayBuffer) {
  const text = await openPayload(keys, code, indexId, sealed);
  return text === null ? null : (JSON.parse(text) as PendingEntry);
}

export type RedeemResult =
  | { outcome: "retrieved"; qrCode: string; fallbackId: string; rpAppId: string }
  | { outcome: "expired"; fallbackId: string; rpAppId: string }
  | { outcome: "unknown" }
  | { outcome: "malformed" };

/**
 * Looks a typed code up and consumes its entry. Every failure takes the same path through HMAC and
 * a KV read, so unknown, expired, used and malformed codes cost the caller the same time.
 */
export async function redeemFallbackCode(
  kv: KVNamespace,
  keys: PendingKeys,
  config: Pick<Config, "codeLength" | "codeAlphabet">,
  typed: string,
  now: number = Date.now(),
): Promise<RedeemResult> {
  const code = normalizeActivationCode(typed);
  const wellFormed = isWellFormedCode(code, config.codeLength, config.codeAlphabet);
  const indexId = await indexIdOf(keys, code);
  const sealed = await getSealed(kv, indexId);
  if (!wellFormed) return { outcome: "malformed" };
  if (!sealed) return { outcome: "unknown" };
  const entry = await unseal(keys, code, indexId, sealed);
  if (!entry) return { outcome: "unknown" };
  // KV may serve an entry a little past its TTL; the sealed expiry is what counts.
  await deleteSealed(kv, indexId);
  if (entry.expiresAt <= now) return { outcome: "expired", fallbackId: entry.fallbackId, rpAppId: entry.rpAppId };
  return { outcome: "retrieved", qrCode: entry.qrCode, fallbackId: entry.fallbackId, rpAppId: entry.rpAppId };
}
