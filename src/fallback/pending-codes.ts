import type { QueuedAuditEvent } from "../../common/audit-contract";
import { pendingKey } from "../../common/kv-keys.js";
import type { Region } from "../../common/regions.js";
import { charsOfRegion, regionOfIndex, regionOfIndexByte } from "../../common/regions.js";
import type { CodeClass } from "../config";
import { toBase64Url } from "../lib/encoding";
import { ATTACK_CHECK_MS, type BudgetSettings } from "../security/guess-budget";
import { CodeDrawer, codeText } from "./activation-code";
import { attackCheckObject, type CodeClaims, claimObject, type KvFinding } from "./code-claims";
import { indexIdOf, indexMacOf, openPayload, type PendingKeys, pendingKeys, sealPayload } from "./payload-crypto";

/** What is sealed under a code. `fallbackId` correlates issuance and lookup in the audit trail. */
export interface PendingEntry {
  qrCode: string;
  expiresAt: number;
  /** "regional": claimed at its region's shard; absent: a 0.7 entry, claimed at the legacy shard. */
  claims?: "regional";
  fallbackId: string;
  rpAppId: string;
}

/** A code claimed for this caller, not yet written. */
export interface ReservedCode {
  activationCode: string;
  indexId: string;
  fallbackId: string;
  expiresAt: number;
  /** The claim's shard stored the issuance event with the claim and sends it. */
  eventKept: boolean;
}

export type RedeemResult =
  /** `eventKept`: the claim's shard stored the retrieval event with the redemption and sends it. */
  | { outcome: "retrieved"; qrCode: string; fallbackId: string; rpAppId: string; eventKept: boolean }
  | { outcome: "expired"; fallbackId: string; rpAppId: string }
  | { outcome: "unknown" }
  | { outcome: "malformed" }
  /** Not evaluated: normal-length codes are refused in attack mode until then. */
  | { outcome: "attack"; until: number }
  /** Not evaluated: the guess budget could not be reached. */
  | { outcome: "unavailable" };

/** A code format: its length and alphabet. */
export interface CodeFormat {
  length: number;
  alphabet: string;
}

/** The formats a create may issue: normal-length codes unless attack mode is on. */
export interface CodeFormats {
  normal: CodeFormat;
  long: CodeFormat;
}

const encoder = new TextEncoder();

/** Claims tried before giving up (each a code no live claim held in the region's shards). */
const MAX_DRAWS = 8;
/**
 * Codes drawn to find one whose index falls in the create's region (7 or 8 of 64 characters): the
 * chance that 400 draws all miss is under 1e-20. The code's characters stay uniform to anyone
 * without the index key.
 */
const MAX_REGION_DRAWS = 400;

/**
 * When this isolate last had a normal-length code refused for attack mode, per claims binding: for
 * ATTACK_HINT_MS its creates draw long codes first. A hint only; the shards decide.
 */
const attackSeenAt = new WeakMap<DurableObjectNamespace<CodeClaims>, number>();
/** Until when this isolate last heard attack mode lasts (from a lookup refused for it), per claims binding. */
const attackUntilSeen = new WeakMap<DurableObjectNamespace<CodeClaims>, number>();
const ATTACK_HINT_MS = 5_000;
/**
 * An isolate keeps asking first this long past the end of attack mode it heard of, until an attack
 * check says it is off: the keeper re-decides every ATTACK_CHECK_MS, and a lookup sent straight to
 * its code's shard when the hint lapsed would show the code's region by its timing.
 */
const ASK_FIRST_PAST_END_MS = 2 * ATTACK_CHECK_MS;
const attackSeen = (ns: DurableObjectNamespace<CodeClaims>) =>
  Date.now() - (attackSeenAt.get(ns) ?? 0) < ATTACK_HINT_MS;

/**
 * The pending codes, as one store: it derives the keys, reserves a code (a claim in CodeClaims),
 * writes the sealed payload to Workers KV with the QR lifetime as TTL, and redeems it once: the
 * payload is read before the claim is redeemed, so a code is never used up unserved.
 * Issuing is reserve -> build the payload (it embeds the code) -> write.
 */
export class PendingCodes {
  private constructor(
    private readonly kv: KVNamespace,
    private readonly claims: DurableObjectNamespace<CodeClaims>,
    private readonly keys: PendingKeys,
  ) {}

  static async open(kv: KVNamespace, claims: DurableObjectNamespace<CodeClaims>, serverSecret: string) {
    return new PendingCodes(kv, claims, await pendingKeys(serverSecret));
  }

  /**
   * Draws a code whose index falls in `placement.region` and claims it there; a code a live claim
   * holds is never handed out again. A normal-length code's shard refuses it while attack mode is on:
   * then long codes are drawn (they work either way). Until `placement.legacyUntil`, the code is
   * first claimed at its 0.7 shard too, so no code a 0.7 Worker issued is issued again.
   */
  async reserve(
    formats: CodeFormats,
    expiresAt: number,
    settings: BudgetSettings,
    placement: { region: Region; legacyUntil: number },
    /** Draws a candidate code (tests); absent, codes are drawn from the CSPRNG (CodeDrawer). */
    drawCode?: (format: CodeFormat) => string,
    /** The issuance event, which the shard stores in the step that claims the code. */
    issuedEventOf?: (fallbackId: string) => QueuedAuditEvent,
  ): Promise<ReservedCode | null> {
    let long = attackSeen(this.claims);
    const fallbackId = crypto.randomUUID();
    const issuedEvent = issuedEventOf?.(fallbackId);
    const drawers = new Map<CodeFormat, CodeDrawer>();
    const draw = (format: CodeFormat): Uint8Array => {
      if (drawCode) return encoder.encode(drawCode(format));
      let drawer = drawers.get(format);
      if (!drawer) {
        drawer = new CodeDrawer(format.length, format.alphabet);
        drawers.set(format, drawer);
      }
      return drawer.next();
    };
    let draws = 0;
    for (let claim = 0; claim < MAX_DRAWS; claim++) {
      // A candidate costs its HMAC and a look at its first byte, which alone sets the index's region;
      // only the code kept is encoded (as text and as its index id).
      let code: Uint8Array;
      let mac: Uint8Array;
      do {
        if (++draws > MAX_REGION_DRAWS) return null;
        code = draw(long ? formats.long : formats.normal);
        mac = await indexMacOf(this.keys, code);
      } while (regionOfIndexByte(mac[0]) !== placement.region);
      const activationCode = codeText(code);
      const indexId = toBase64Url(mac);
      if (placement.legacyUntil > Date.now() && !(await this.blockLegacy(indexId, expiresAt, settings))) continue;
      const claimed = await claimObject(this.claims, indexId).reserve(
        indexId,
        expiresAt,
        long ? undefined : settings,
        issuedEvent,
      );
      if (claimed === "attack") {
        long = true;
        attackSeenAt.set(this.claims, Date.now());
        continue;
      }
      if (claimed) return { activationCode, indexId, fallbackId, expiresAt, eventKept: typeof claimed === "object" };
    }
    return null;
  }

  /**
   * Claims the code at its 0.7 shard too, and redeems that claim at once: a 0.7 Worker still serving
   * neither issues the code again nor serves it (its lookup finds the claim used), while this
   * version redeems it at the regional shard. false: a live 0.7 claim holds the code.
   */
  private async blockLegacy(indexId: string, expiresAt: number, settings: BudgetSettings): Promise<boolean> {
    const legacy = claimObject(this.claims, indexId, true);
    if (!(await legacy.reserve(indexId, expiresAt))) return false;
    // A long-class lookup of a live entry redeems without the guess budget (0.7 has the same method).
    await legacy.lookup(settings, "long", indexId, "live");
    return true;
  }

  /** Seals the payload under the reserved code and caches it for the QR lifetime. */
  async write(reserved: ReservedCode, qrCode: string, rpAppId: string, ttlSeconds: number): Promise<void> {
    const entry: PendingEntry = {
      qrCode,
      expiresAt: reserved.expiresAt,
      fallbackId: reserved.fallbackId,
      rpAppId,
      claims: "regional",
    };
    const sealed = await sealPayload(this.keys, reserved.activationCode, reserved.indexId, JSON.stringify(entry));
    await this.kv.put(pendingKey(reserved.indexId), sealed, { expirationTtl: ttlSeconds });
  }

  /**
   * Looks a well-formed, normalized code up and consumes it: 200-worthy only after winning the
   * claim's single redemption, whatever a KV location still serves. The KV copy is deleted in the
   * background (`waitUntil`): the claim already makes it useless. `retrievalEventOf` gives the event
   * of a successful retrieval, which the shard stores with the redemption (durable at the source).
   */
  async redeem(
    code: string,
    cls: CodeClass,
    settings: BudgetSettings,
    waitUntil: (p: Promise<unknown>) => void,
    retrievalEventOf?: (entry: { fallbackId: string; rpAppId: string }) => QueuedAuditEvent,
    /** The region of the request (where it entered Cloudflare); absent, the code's own. */
    near?: Region,
  ): Promise<RedeemResult> {
    const indexId = await indexIdOf(this.keys, code);
    // While attack mode seems on, an object of the caller's own region, picked at random among 64,
    // decides before any KV read or decryption: a refused lookup then takes the same work, and time,
    // whether its code is live or not, and wherever its code's shard is.
    if (cls === "normal" && (attackUntilSeen.get(this.claims) ?? 0) + ASK_FIRST_PAST_END_MS > Date.now()) {
      const first = await this.attackCheck(indexId, near ?? regionOfIndex(indexId), settings);
      if (first.outcome === "attack") return this.refused(first.until);
      if (first.outcome === "unavailable") return { outcome: "unavailable" };
      attackUntilSeen.delete(this.claims); // it is off: the next lookups go straight to their shard
    }
    let shard = claimObject(this.claims, indexId);
    const sealed = await this.kv.get(pendingKey(indexId), "arrayBuffer");
    const text = sealed && (await openPayload(this.keys, code, indexId, sealed));
    const entry = text ? (JSON.parse(text) as PendingEntry) : null;
    // KV may serve an entry a little past its TTL; the sealed expiry is what counts.
    const found: KvFinding = !entry ? "absent" : entry.expiresAt <= Date.now() ? "expired" : "live";
    // A code a 0.7 Worker issued is redeemed where it was claimed (for its last minutes after the move).
    if (entry && entry.claims !== "regional") shard = claimObject(this.claims, indexId, true);
    const event = found === "live" && entry ? retrievalEventOf?.(entry) : undefined;
    const verdict = await shard.lookup(settings, cls, indexId, found, event);
    if (verdict.outcome === "attack") return this.refused(verdict.until);
    if (verdict.outcome === "unavailable" || verdict.outcome === "unknown" || verdict.outcome === "proceed" || !entry)
      return { outcome: verdict.outcome === "unavailable" ? "unavailable" : "unknown" };
    if (verdict.outcome === "expired")
      return { outcome: "expired", fallbackId: entry.fallbackId, rpAppId: entry.rpAppId };
    waitUntil(this.kv.delete(pendingKey(indexId)));
    return {
      outcome: "retrieved",
      qrCode: entry.qrCode,
      fallbackId: entry.fallbackId,
      rpAppId: entry.rpAppId,
      eventKept: "eventKept" in verdict && verdict.eventKept === true,
    };
  }

  /**
   * Asks one of `near`'s 64 attack-check objects whether attack mode refuses the lookup. An
   * object still running the previous version (a deploy under way) lacks `attackCheck`: then one of
   * `near`'s claim shards is asked as that version asked, with an "unread" lookup (which takes a
   * unit of budget and gives it back: only the shards, which hold units anyway, are asked so).
   */
  private async attackCheck(indexId: string, near: Region, settings: BudgetSettings) {
    try {
      return await attackCheckObject(this.claims, near).attackCheck(settings);
    } catch (e) {
      if (!isMissingMethod(e)) throw e;
      const own = charsOfRegion(near);
      const shard = claimObject(this.claims, own[crypto.getRandomValues(new Uint8Array(1))[0] % own.length]);
      return shard.lookup(settings, "normal", indexId, "unread");
    }
  }

  /** A lookup refused for attack mode: this isolate's next lookups ask first, its next creates draw long codes. */
  private refused(until: number): RedeemResult {
    attackSeenAt.set(this.claims, Date.now());
    attackUntilSeen.set(this.claims, until);
    return { outcome: "attack", until };
  }
}

/** The error an RPC call to a method the object's version does not have fails with. */
const isMissingMethod = (e: unknown) => e instanceof Error && /does not implement/.test(e.message);
