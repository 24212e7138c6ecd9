// How the CodeClaims Durable Objects are sharded (CLAIM_SHARDS), and what a live deployment must run
// before this version may replace it. Plain JavaScript so `npm run deploy` imports the same rule the
// Worker's config obeys (docs/storage.md).
//
// A code's claim keeps two live codes from sharing a value and a code from being redeemed twice, and
// (0.6.0 on) the shard that holds it also spends the guess budget for it: every Worker must ask the
// same object. 0.6.0 runs only the 64 sharding; the 4096 sharding and the "4096+64" move ended in 0.5.

/** @typedef {"64"} ClaimSharding */

/** The only sharding: one object per first character of the code's index id (`claims:<c>`). */
export const CLAIM_SHARDING = /** @type {ClaimSharding} */ ("64");

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
export const claimObjectName = (indexId) => `claims:${indexId.slice(0, 1)}`;

/**
 * Why deploying this version now would let two Workers disagree on a claim, or null when it is safe.
 * `live` is every version serving the current deployment (null: the Worker was never deployed), each
 * with the CLAIM_SHARDS it was deployed with (undefined: a version from before the setting).
 * @param {{ live: { claimShards: string | undefined }[] | null }} rollout
 * @returns {string | null}
 */
export function claimRolloutRefusal({ live }) {
  if (live === null || live.length === 0) return null;
  const running = [...new Set(live.map((v) => v.claimShards ?? "4096"))];
  if (running.every((s) => s === CLAIM_SHARDING)) return null;
  return `the live Worker runs CLAIM_SHARDS ${running.map((s) => `"${s}"`).join(", ")}: finish the move to "64" with 0.5.0 first (CHANGELOG 0.4.0), then deploy this version`;
}
