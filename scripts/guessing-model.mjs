// The guessing model of docs/security-model.md, from a deployment's configuration (wrangler's own
// config reader, any environment): how many wrong codes each attacker model can have evaluated per
// day, and the successful guesses to expect in a year. Shared by `npm run odds` (analytic) and
// `npm run attack-sim` (measured, then projected with the same caps).
import { unstable_readConfig } from "wrangler";
import { varOf as defaultedVar } from "../common/config-vars.js";

export function readGuessingConfig(configPath = "wrangler.toml", env = undefined) {
  const config = unstable_readConfig({ config: configPath, env }, { hideWarnings: true });
  const varOf = (name) => defaultedVar(config.vars, name);
  const limiter = (name) => {
    const found = config.ratelimits?.find((r) => r.name === name);
    if (!found) throw new Error(`rate limiter ${name} not found in ${configPath}`);
    return found.simple;
  };
  const perDay = ({ limit, period }) => (limit * 86_400) / period;
  return {
    alphabetSize: [...varOf("CODE_ALPHABET")].length,
    normalLength: Number(varOf("CODE_LENGTH")),
    longLength: Number(varOf("ATTACK_CODE_LENGTH")),
    /** Lookups one client / one network may make per minute at one location (Rate Limiting binding). */
    perMinute: { client: limiter("LOOKUP_LIMITER").limit, network: limiter("NETWORK_LOOKUP_LIMITER").limit },
    perDay: {
      clientLookups: perDay(limiter("LOOKUP_LIMITER")),
      networkLookups: perDay(limiter("NETWORK_LOOKUP_LIMITER")),
      clientFailures: Number(varOf("CLIENT_DAILY_FAILURE_CAP")),
      networkFailures: Number(varOf("NETWORK_DAILY_FAILURE_CAP")),
      normalBudget: Math.min(Number(varOf("GUESS_BUDGET_PER_DAY")), Number(varOf("GUESS_BUDGET_PER_MINUTE")) * 1440),
    },
    budgetPerMinute: Number(varOf("GUESS_BUDGET_PER_MINUTE")),
  };
}

/**
 * The attacker models (SPEC section 9, and the two the 0.6 design adds): how many networks (IPv4 /24,
 * IPv6 /48), clients in each, and locations it sends from (the Rate Limiting binding counts per location).
 */
export const ATTACKERS = [
  { name: "one IPv4 host", networks: 1, clientsPerNetwork: 1, locations: 1 },
  { name: "one IPv6 host holding a /48", networks: 1, clientsPerNetwork: 65_536, locations: 1 },
  { name: "botnet: 10,000 IPv4 addresses in 2,000 /24s", networks: 2_000, clientsPerNetwork: 5, locations: 1 },
  { name: "one IPv6 /32 (65,536 /48s)", networks: 65_536, clientsPerNetwork: 65_536, locations: 1 },
  { name: "botnet of 10,000 addresses over 50 locations", networks: 2_000, clientsPerNetwork: 5, locations: 50 },
];

/**
 * Wrong codes an attacker can have evaluated per day, both lengths together, by its own limits: the
 * per-minute limits multiply with the locations it sends from, the daily failure caps (kept in one
 * ledger per network, whatever the location) do not.
 */
export function attackerCapPerDay(config, attacker) {
  const { perDay } = config;
  const perClient = Math.min(perDay.clientLookups * attacker.locations, perDay.clientFailures);
  const perNetwork = Math.min(
    perDay.networkLookups * attacker.locations,
    perDay.networkFailures,
    perClient * attacker.clientsPerNetwork,
  );
  return perNetwork * attacker.networks;
}

/**
 * Expected successful guesses in a year with `live` codes of each length pending at all times
 * (conservative: both lengths at once, each guessed with the attacker's whole capacity).
 */
export function yearlyHits(config, normalPerDay, longPerDay, live) {
  const normalSpace = config.alphabetSize ** config.normalLength;
  const longSpace = config.alphabetSize ** config.longLength;
  return 365 * (normalPerDay * (live / normalSpace) + longPerDay * (live / longSpace));
}

/** Normal-length guesses are bounded by the deployment's budget; long ones (no budget) only by the attacker's caps. */
export function analyticOdds(config, attacker) {
  const cap = attackerCapPerDay(config, attacker);
  const normalPerDay = Math.min(cap, config.perDay.normalBudget);
  const longPerDay = cap;
  return {
    capPerDay: cap,
    normalPerDay,
    longPerDay,
    hits100: yearlyHits(config, normalPerDay, longPerDay, 100),
    hits1000: yearlyHits(config, normalPerDay, longPerDay, 1_000),
  };
}

export const fmt = (n) =>
  n >= 1e6 || (n < 0.01 && n > 0) ? n.toExponential(2) : n.toLocaleString("en-US", { maximumFractionDigits: 3 });
