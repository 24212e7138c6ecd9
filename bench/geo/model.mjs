// The geographic model of issue #28, pure functions (tested by test/node/geo-model.test.mjs):
// placement of the 64 index characters among the location-hint regions, where each region's objects
// land, a lookup's and a create's latency per region ("before": every object where the deployment was
// first used; "after": each code's shard in its creator's region) against a floor, and the requests per
// second the busiest Durable Object receives.
import { charsOfRegion } from "../../common/regions.js";
import {
  BINDING_MS,
  DEFAULT_WEIGHTS,
  NO_OBJECTS,
  OBJECT_MS,
  PHONE_TO_EDGE_MS,
  REGIONS,
  rttMs,
  WORKER_MS,
} from "./regions.mjs";

/** An index id is base64url (HMAC-SHA-256): its first character is one of these 64, uniformly. */
export const INDEX_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** "Before": a Durable Object lives where first touched; the model's deployment was first used in enam. */
export const FIRST_USE = "enam";

/**
 * The Worker's own placement (common/regions.js): each region holds a run of 7 or 8 of the 64
 * characters. `byChar[c]` is c's region, `byRegion[r]` its characters.
 */
export function placement() {
  const byChar = {};
  const byRegion = {};
  for (const r of REGIONS) {
    byRegion[r] = charsOfRegion(r);
    for (const c of byRegion[r]) byChar[c] = r;
  }
  return { byChar, byRegion };
}

/** Where an object created with `hint` runs: the hint's region, or the nearest region that hosts objects. */
export function landing(hint) {
  if (!NO_OBJECTS.has(hint)) return hint;
  return REGIONS.filter((r) => !NO_OBJECTS.has(r)).sort((a, b) => rttMs(hint, a) - rttMs(hint, b))[0];
}

/** Draws a create makes until the index's first character is its region's: geometric, mean 64 / k. */
export const meanDraws = (charsOfRegion) => INDEX_CHARS.length / charsOfRegion;

/** A small seeded PRNG (mulberry32): the model prints the same figures every run. */
export function rng(seed = 28) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A leg's time: its median times a log-normal spread (σ = `spread`), so p99s have tails. */
function jitter(rand, median, spread) {
  const z = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  return median * Math.exp(spread * z);
}
const SPREAD = { phone: 0.35, backbone: 0.1, kv: 0.3 };

export const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};

/** Phones are in their workstation's region this often; else in another, chosen by the weights. */
export const AT_HOME = 0.95;
/** A lookup waits for the budget keeper when its shard holds no unit (assumed; units are topped up in the background). */
export const LOOKUP_KEEPER_SHARE = 0.05;
/** A create asks the keeper whether attack mode is on when the shard's knowledge is over 1 s old: assumed always. */
export const CREATE_KEEPER_SHARE = 1;

/**
 * One request's time (ms) for a phone or workstation whose code's home is `home`. `design`: "before"
 * (every object in FIRST_USE), "after" (the shard hinted to `home`, the keeper in FIRST_USE), "floor" (phone to its
 * location, one round trip to where an object hinted `home` lands, the KV read or write).
 */
export function sampleRequest(rand, { design, kind, home, weights = DEFAULT_WEIGHTS }) {
  const objects = design === "before" ? FIRST_USE : landing(home);
  // Creates come from the workstation; a lookup's phone is away (elsewhere, by weight) 5 % of the time.
  const at = kind === "create" || design === "floor" || rand() < AT_HOME ? home : pickAway(rand, home, weights);
  const edge = jitter(rand, PHONE_TO_EDGE_MS, SPREAD.phone);
  const toObject = jitter(rand, rttMs(at, objects), SPREAD.backbone);
  const kv = jitter(rand, kind === "create" ? BINDING_MS.kvWrite : BINDING_MS.kvCold, SPREAD.kv);
  if (design === "floor") return edge + toObject + kv;
  const keeperShare = kind === "create" ? CREATE_KEEPER_SHARE : LOOKUP_KEEPER_SHARE;
  // The keeper is one global object (KEEPER_NAME, no hint), created where the deployment was first used.
  const keeper = rand() < keeperShare ? jitter(rand, rttMs(objects, FIRST_USE), SPREAD.backbone) + OBJECT_MS : 0;
  return edge + BINDING_MS.rateLimit + WORKER_MS + kv + toObject + OBJECT_MS + keeper;
}

function pickAway(rand, home, weights) {
  const others = REGIONS.filter((r) => r !== home);
  const total = others.reduce((s, r) => s + (weights[r] ?? 0), 0);
  let x = rand() * total;
  for (const r of others) {
    x -= weights[r] ?? 0;
    if (x <= 0) return r;
  }
  return others.at(-1);
}

const stats = (xs) => ({ p50Ms: +percentile(xs, 50).toFixed(1), p99Ms: +percentile(xs, 99).toFixed(1) });

/**
 * Per region: lookup and create p50 and p99 after and before, each against its floor. `samples`
 * requests per figure from a seeded PRNG.
 */
export function geoLatency({ weights = DEFAULT_WEIGHTS, samples = 10_000, seed = 28 } = {}) {
  const rand = rng(seed);
  const regions = {};
  for (const home of REGIONS) {
    regions[home] = {};
    for (const kind of ["lookup", "create"]) {
      const run = (design) =>
        Array.from({ length: samples }, () => sampleRequest(rand, { design, kind, home, weights }));
      const floor = stats(run("floor"));
      const after = stats(run("after"));
      const before = stats(run("before"));
      regions[home][kind] = {
        ...after,
        floorP50Ms: floor.p50Ms,
        floorP99Ms: floor.p99Ms,
        ratio: +(after.p50Ms / floor.p50Ms).toFixed(3),
        before: { ...before, ratio: +(before.p50Ms / floor.p50Ms).toFixed(3) },
      };
    }
    regions[home].objectsIn = landing(home);
  }
  return regions;
}

/**
 * Calls per request, from src/ (0.7.0):
 * - a lookup: one call to its code's claim shard (`CodeClaims.lookup`; an isolate that saw attack mode
 *   first asks one of the 64 objects of the request's own region, at random (`CodeClaims.attackCheck`),
 *   refused there with no second call:
 *   src/fallback/pending-codes.ts); a failure (wrong, malformed or
 *   refused code) is counted into its network's ClientLedger, batched per isolate and network
 *   (LEDGER_BATCH_MS 250 ms linger, one hand-off in flight: src/lib/count-batcher.ts), refusals by a
 *   second batcher of the same kind (src/audit/refusals.ts);
 * - a create: one `CodeClaims.reserve` (a collision draws again: negligible);
 * - a shard calls its keeper (`GuessBudget.grant`) after a wrong code leaves it under 2 units (one call
 *   in flight per shard), before a create when its attack state is over 1 s old, and in attack mode
 *   every object that refuses reports its refusals every 10 s, and each re-asks within 3 s past every
 *   end of attack mode the keeper announces, which it re-decides every 30 s (src/security/guess-gate.ts);
 * - a shard sends the events it stores itself, with no alarm (an alarm per hour's table and after a
 *   refused send only: negligible here);
 * - each network ledger hands a finished minute to one of 64 summary shards 1 to 11 s after it (0.10 on;
 *   1 s before), and each summary shard to the deployment's summary 15 s after it (src/security/client-ledger.ts).
 */
export const CALLS = {
  lookupShard: 1,
  createShard: 1,
  keeperPerShardPerSecondCreates: 1,
  keeperPerShardPerSecondAttack: 0.1,
  /** Objects re-ask the keeper within this many seconds past each end it announces (ATTACK_RECHECK_SPREAD_MS). */
  keeperRecheckSpreadS: 3,
  summaryShards: 64,
  /** Network ledgers hand a minute on over this many seconds, each at its own offset (NETWORK_SPREAD_MS). */
  summaryHandOnSpreadS: 10,
};

/** The wrangler.toml limits a guess meets before its shard (per minute) and the daily failure cap. */
export const LIMITS = { perClientPerMinute: 20, perNetworkPerMinute: 200, clientDailyFailures: 100 };

/**
 * Requests per second received by the busiest Durable Object, before and after, for a large tenant's
 * peak (100 lookups/s, 2 % typos, a create per lookup) alone and with a botnet of 10,000 guesses/s from
 * 10,000 addresses in 2,000 /24 networks (the attack-sim's botnet). "After", the tenant's home is the
 * region with the fewest characters (the worst case). Returns each object kind's rate and the busiest.
 */
export function busiestObjects({
  lookups = 100,
  typo = 0.02,
  guesses = 10_000,
  addresses = 10_000,
  networks = 2_000,
} = {}) {
  const { byRegion } = placement();
  const fewest = Math.min(...REGIONS.map((r) => byRegion[r].length));
  const creates = lookups;
  const wrong = lookups * typo;
  // Guesses that pass both rate limits (per address, per /24); the daily cap stops them after 5 minutes.
  const perAddress = guesses / addresses;
  const passPerAddress = Math.min(perAddress, LIMITS.perClientPerMinute / 60);
  const perNetworkPass = Math.min((addresses / networks) * passPerAddress, LIMITS.perNetworkPerMinute / 60);
  const passed = perNetworkPass * networks;
  const perNetworkRequests = guesses / networks;
  const out = {};
  for (const design of ["before", "after"]) {
    const tenantShards = design === "before" ? INDEX_CHARS.length : fewest;
    const keeperShards = design === "before" ? INDEX_CHARS.length : fewest;
    const tenantShard = (creates * CALLS.createShard + lookups * CALLS.lookupShard) / tenantShards;
    const keeperPeak = keeperShards * Math.min(CALLS.keeperPerShardPerSecondCreates, creates / tenantShards) + wrong;
    const peak = {
      claimShard: tenantShard,
      budgetKeeper: keeperPeak,
      clientLedger: Math.min(wrong, 2), // typos from many phones: at most the typo rate on one network
    };
    // Attack mode on (the budget of 300 a minute is spent in a fraction of a second): every passed
    // guess costs one call, to one of the 64 objects of the region it enters through, at random
    // ("after"; before placement its code's own shard). The worst
    // case: the whole botnet enters through the tenant's home region, whose shards are among those
    // 64, so they take both. And every object of every region may report refusals to the keeper.
    // The keeper's peak: creates, the reports, and every object re-asking within a few seconds past
    // each end the keeper announces (before, the shards re-asked all at once: within a second).
    const reporting = design === "before" ? INDEX_CHARS.length : INDEX_CHARS.length * REGIONS.length;
    const keeperAttack =
      keeperShards * Math.min(CALLS.keeperPerShardPerSecondCreates, creates / tenantShards) +
      reporting * CALLS.keeperPerShardPerSecondAttack +
      reporting / (design === "before" ? 1 : CALLS.keeperRecheckSpreadS);
    const attack = {
      claimShard: tenantShard + passed / INDEX_CHARS.length,
      budgetKeeper: keeperAttack,
      // Each of a network's two batchers calls at most once per event; 5 guesses/s a /24 here.
      clientLedger: perNetworkRequests,
      // A summary shard's networks hand a minute on over 10 s (before: within a second); then all 64 shards.
      summaryShard: networks / CALLS.summaryShards / (design === "before" ? 1 : CALLS.summaryHandOnSpreadS),
      deploymentSummary: CALLS.summaryShards,
    };
    out[design] = { peak100: withBusiest(peak), attack10k: withBusiest(attack) };
  }
  out.inputs = {
    fewestChars: fewest,
    passedGuessesPerSecond: +passed.toFixed(0),
    noLimitsShard: +(guesses / 64).toFixed(1),
  };
  return out;
}

function withBusiest(rates) {
  const rounded = Object.fromEntries(Object.entries(rates).map(([k, v]) => [k, +v.toFixed(1)]));
  const [object, rps] = Object.entries(rounded).sort((a, b) => b[1] - a[1])[0];
  return { rps, object, byObject: rounded };
}
