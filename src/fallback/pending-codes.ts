import type { ClaimSharding } from "../../common/claim-shards.js";
import { pendingKey } from "../../common/kv-keys.js";
import { generateActivationCode } from "./activation-code";
import { type CodeClaims, claimRedeemed, claimReserved } from "./code-claims";
import { indexIdOf, openPayload, type PendingKeys, pendingKeys, sealPayload } from "./payload-crypto";

/** What is sealed under a code. `fallbackId` correlates issuance and lookup in the audit trail. */
export interface PendingEntry {
  qrCode: string;
  expiresAt: number;
  fallbackId: string;
  rpAppId: string;
}

/** A code claimed for this caller, not yet written. */
export interface ReservedCode {
  activationCode: string;
  indexId: string;
  fallbackId: string;
  expiresAt: number;
}

export type RedeemResult =
  | { outcome: "retrieved"; qrCode: string; fallbackId: string; rpAppId: string }
  | { outcome: "expired"; fallbackId: string; rpAppId: string }
  | { outcome: "unknown" }
  | { outcome: "malformed" };

const MAX_DRAWS = 8;

/**
 * The pending codes, as one store: it derives the keys, reserves a code (a claim in CodeClaims),
 * writes the sealed payload to Workers KV with the QR lifetime as TTL, and redeems it once.
 * Issuing is reserve -> build the payload (it embeds the code) -> write.
 */
export class PendingCodes {
  private constructor(
    private readonly kv: KVNamespace,
    private readonly claims: DurableObjectNamespace<CodeClaims>,
    private readonly sharding: ClaimSharding,
    private readonly keys: PendingKeys,
  ) {}

  static async open(
    kv: KVNamespace,
    claims: DurableObjectNamespace<CodeClaims>,
    sharding: ClaimSharding,
    serverSecret: string,
  ) {
    return new PendingCodes(kv, claims, sharding, await pendingKeys(serverSecret));
  }

  /** Draws a code and claims it; a code a live claim holds is never handed out again. */
  async reserve(
    format: { length: number; alphabet: string },
    expiresAt: number,
    drawCode: () => string = () => generateActivationCode(format.length, format.alphabet),
  ): Promise<ReservedCode | null> {
    for (let draw = 0; draw < MAX_DRAWS; draw++) {
      const activationCode = drawCode();
      const indexId = await indexIdOf(this.keys, activationCode);
      if (await claimReserved(this.claims, this.sharding, indexId, expiresAt)) {
        return { activationCode, indexId, fallbackId: crypto.randomUUID(), expiresAt };
      }
    }
    return null;
  }

  /** Seals the payload under the reserved code and caches it for the QR lifetime. */
  async write(reserved: ReservedCode, qrCode: string, rpAppId: string, ttlSeconds: number): Promise<void> {
    const entry: PendingEntry = { qrCode, expiresAt: reserved.expiresAt, fallbackId: reserved.fallbackId, rpAppId };
    const sealed = await sealPayload(this.keys, reserved.activationCode, reserved.indexId, JSON.stringify(entry));
    await this.kv.put(pendingKey(reserved.indexId), sealed, { expirationTtl: ttlSeconds });
  }

  /**
   * Looks a well-formed, normalized code up and consumes it: 200-worthy only after winning the
   * claim's single redemption, whatever a KV location still serves. The KV copy is deleted in the
   * background (`waitUntil`): the claim already makes it useless.
   */
  async redeem(
    code: string,
    waitUntil: (p: Promise<unknown>) => void,
    now: number = Date.now(),
  ): Promise<RedeemResult> {
    const indexId = await indexIdOf(this.keys, code);
    const sealed = await this.kv.get(pendingKey(indexId), "arrayBuffer");
    if (!sealed) return { outcome: "unknown" };
    const text = await openPayload(this.keys, code, indexId, sealed);
    if (text === null) return { outcome: "unknown" };
    const entry = JSON.parse(text) as PendingEntry;
    // KV may serve an entry a little past its TTL; the sealed expiry is what counts.
    if (entry.expiresAt <= now) return { outcome: "expired", fallbackId: entry.fallbackId, rpAppId: entry.rpAppId };
    if (!(await claimRedeemed(this.claims, this.sharding, indexId, entry.expiresAt))) return { outcome: "unknown" };
    waitUntil(this.kv.delete(pendingKey(indexId)));
    return { outcome: "retrieved", qrCode: entry.qrCode, fallbackId: entry.fallbackId, rpAppId: entry.rpAppId };
  }
}
