// How the CodeClaims Durable Objects are sharded (CLAIM_SHARDS), and the rule for moving a live
// deployment from one sharding to another. Plain JavaScript so `npm run deploy` imports the same
// rule the Worker's config obeys (docs/storage.md, CHANGELOG 0.4.0's upgrade notes).
//
// A code's claim is what keeps two live codes from sharing a value and a code from being redeemed
// twice; it only does so if every Worker that may issue or redeem a code asks the same object. So
// two shardings never run side by side: the move goes through "4096+64", which claims and redeems
// in both, and only once every live code has been claimed in both (the longest QR lifetime after
// the last Worker of the old sharding stopped) may the old one be dropped.

import { MAX_APP_QR_TTL_SECONDS } from "./qr-lifetime.js";

/** @typedef {"4096" | "4096+64" | "64"} ClaimSharding */

/**
 * Each sharding, with the index-id prefix lengths that name its objects (`claims:<prefix>`).
 * @type {Readonly<Record<ClaimSharding, readonly number[]>>}
 */
export const CLAIM_SHARDINGS = Object.freeze({
  /** One object per two-character prefix: what every version before 0.4.0 ran. */
  4096: [2],
  /** The move between the two: claims and redemptions in both, the 4096 objects first. */
  "4096+64": [2, 1],
  /** One object per one-character prefix: fewer object starts, so less waiting per code. */
  64: [1],
});

/** What a deployment without CLAIM_SHARDS runs: what it ran before the setting existed. */
export const DEFAULT_CLAIM_SHARDING = /** @type {ClaimSharding} */ ("4096");

/**
 * @param {string | undefined} raw
 * @returns {ClaimSharding | null} null for a value that is not a sharding
 */
export function parseClaimSharding(raw) {
  if (raw === undefined || raw === "") return DEFAULT_CLAIM_SHARDING;
  return Object.hasOwn(CLAIM_SHARDINGS, raw) ? /** @type {ClaimSharding} */ (raw) : null;
}

/**
 * The names of the objects holding a code's claim, in the order they are asked.
 * @param {ClaimSharding} sharding
 * @param {string} indexId
 */
export const claimObjectNames = (sharding, indexId) =>
  CLAIM_SHARDINGS[sharding].map((length) => `claims:${indexId.slice(0, length)}`);

/**
 * Why deploying `target` now would let two Workers disagree on a claim, or null when it is safe.
 * `live` is every version serving the current deployment (null: the Worker was never deployed),
 * each with the CLAIM_SHARDS it was deployed with (undefined: a version from before the setting)
 * and its QR_TTL_SECONDS; `deployedSecondsAgo` is the age of the current deployment.
 * @param {{ target: ClaimSharding, targetQrTtlSeconds: number, deployedSecondsAgo: number,
 *   live: { claimShards: string | undefined, qrTtlSeconds: number }[] | null }} rollout
 * @returns {string | null}
 */
export function claimRolloutRefusal({ target, targetQrTtlSeconds, deployedSecondsAgo, live }) {
  if (live === null || live.length === 0) return null;
  const predates = live.some((v) => v.claimShards === undefined);
  // A version from before the setting ran the 4096 sharding.
  const running = [...new Set(live.map((v) => v.claimShards ?? DEFAULT_CLAIM_SHARDING))];
  if (target === "4096+64") {
    // The move's Workers call CodeClaims.consume, which objects still running older code lack.
    if (predates) {
      return 'the live Worker predates CLAIM_SHARDS: deploy this version with --var CLAIM_SHARDS:4096 first, then "4096+64"';
    }
    return null;
  }
  if (running.every((s) => s === target || s === "4096+64") && running.includes(target)) return null;
  if (!running.every((s) => s === "4096+64")) {
    return `the live Worker runs CLAIM_SHARDS ${running.map((s) => `"${s}"`).join(", ")}: moving to "${target}" goes through "4096+64" first (--var CLAIM_SHARDS:4096+64), held for the longest QR lifetime`;
  }
  // Codes issued before the move started may live as long as an application's lifetime allows.
  const longest = Math.max(MAX_APP_QR_TTL_SECONDS, targetQrTtlSeconds, ...live.map((v) => v.qrTtlSeconds));
  const wait = longest + 60;
  if (deployedSecondsAgo < wait) {
    return `CLAIM_SHARDS "4096+64" has been live for ${Math.floor(deployedSecondsAgo)} s: codes claimed only in the earlier sharding may still be live; deploy "${target}" in ${Math.ceil(wait - deployedSecondsAgo)} s`;
  }
  return null;
}
