// How the CodeClaims Durable Objects are named and placed (CLAIM_SHARDS), and what a deploy must carry
// over from the live Worker. Plain JavaScript so `npm run deploy` imports the same rule the Worker's
// config obeys (docs/storage.md).
//
// A code's claim keeps two live codes from sharing a value and a code from being redeemed twice, and
// the shard that holds it spends the guess budget for it: every Worker must ask the same object.
import { regionOfIndex } from "./regions.js";

/** @typedef {"regional" | "64"} ClaimSharding */

/**
 * 0.8 on: one object per first character of the code's index id, named with the region that holds
 * that character (`claims:<region>:<c>`) and created there (its location hint).
 */
export const CLAIM_SHARDING = /** @type {ClaimSharding} */ ("regional");
/** 0.4 to 0.7: `claims:<c>`, created wherever first used. Its live claims are honoured after the move. */
export const LEGACY_CLAIM_SHARDING = /** @type {ClaimSharding} */ ("64");

/**
 * How long past the main Worker's deploy step codes are also claimed at the legacy shards: the
 * longest QR lifetime (MAX_APP_QR_TTL_SECONDS, 600), the last requests of the replaced Worker and the
 * rollout's own pace, with room (the cost is two object calls a create for that long).
 */
export const LEGACY_CLAIMS_LIVE_SECONDS = 1800;

/**
 * A shard sends the events it stores this long after writing one, so that a burst's events share a
 * send. Short: a pending timer keeps the object from hibernating (billed duration, counted by the
 * bench's cost model) and dies with the object if it is stopped.
 */
export const EVENT_SEND_DELAY_MS = 20;

/**
 * @param {string | undefined} raw
 * @returns {ClaimSharding | null} null for a value that is not the sharding this version runs
 */
export function parseClaimSharding(raw) {
  if (raw === undefined || raw === "" || raw === CLAIM_SHARDING) return CLAIM_SHARDING;
  return null;
}

/**
 * The name of the object holding a code's claim and spending the guess budget for it.
 * @param {string} indexId
 */
export const claimObjectName = (indexId) => `claims:${regionOfIndex(indexId)}:${indexId.slice(0, 1)}`;

/**
 * The objects a lookup asks first while its isolate knows attack mode is on (whether it is refused):
 * 64 per region, created in the region the request entered through (`near`), one picked at random
 * per lookup. A botnet's guesses spread over 64 objects wherever it enters, and which one answers
 * says nothing of the code (the region's own 7 or 8 are its claim shards: were the pick the code's
 * prefix, their timing could sort codes by region).
 * @param {string} prefix an index character
 * @param {import("./regions.js").Region} near
 */
export const attackCheckObjectName = (prefix, near) => `claims:${near}:${prefix.slice(0, 1)}`;

/**
 * Its name under the 64 sharding of 0.4 to 0.7.
 * @param {string} indexId
 */
export const legacyClaimObjectName = (indexId) => `claims:${indexId.slice(0, 1)}`;

/**
 * @typedef {object} LiveVersion
 * @property {string | undefined} claimShards its CLAIM_SHARDS (undefined: unset)
 * @property {boolean} hasGuessBudget it binds GUESS_BUDGET (0.5 on), so an unset CLAIM_SHARDS was the default "64"
 * @property {number | undefined} claimLegacyUntil its CLAIM_LEGACY_UNTIL, epoch ms
 */

/**
 * The sharding a live version runs: its CLAIM_SHARDS, else the default of its time (0.7 deployed no
 * var that repeats a default: "64"; before 0.4, "4096").
 * @param {LiveVersion} v
 */
const runs = (v) => v.claimShards ?? (v.hasGuessBudget ? LEGACY_CLAIM_SHARDING : "4096");

/**
 * Why deploying this version now would let two Workers disagree on a claim, or null when it is safe.
 * `live` is every version serving the current deployment (null: the Worker was never deployed).
 * @param {{ live: LiveVersion[] | null }} rollout
 * @returns {string | null}
 */
export function claimRolloutRefusal({ live }) {
  if (live === null || live.length === 0) return null;
  const other = [...new Set(live.map(runs))].filter((s) => s !== CLAIM_SHARDING && s !== LEGACY_CLAIM_SHARDING);
  if (other.length === 0) return null;
  return `the live Worker runs CLAIM_SHARDS ${other.map((s) => `"${s}"`).join(", ")}: finish the move to "64" with 0.5.0 first (CHANGELOG 0.4.0), then deploy this version`;
}

/**
 * Until when (epoch ms) the deployed version must also claim codes at the legacy shards and redeem
 * the codes they hold there: 30 minutes from now when a live version still makes legacy claims, the
 * live value when a move is still under way, else null (nothing to carry over).
 * @param {{ live: LiveVersion[] | null, now: number }} rollout
 * @returns {number | null}
 */
export function claimLegacyUntil({ live, now }) {
  if (!live) return null;
  if (live.some((v) => runs(v) === LEGACY_CLAIM_SHARDING)) return now + LEGACY_CLAIMS_LIVE_SECONDS * 1000;
  const carried = Math.max(0, ...live.map((v) => v.claimLegacyUntil ?? 0));
  return carried > now ? carried : null;
}
