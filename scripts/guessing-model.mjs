// The guessing model of SECURITY.md, from a wrangler.toml: how many wrong codes each attacker model of
// SPEC section 9 gets evaluated per day, and the expected successful guesses over a year. Shared by
// `npm run odds` (analytic) and `npm run attack-sim` (measured, then projected with the same caps).
import { readFileSync } from "node:fs";

export function readGuessingConfig(configPath = "wrangler.toml") {
  const toml = readFileSync(configPath, "utf8");
  const varOf = (name, fallback) => {
    const value = toml.match(new RegExp(`^${name}\\s*=\\s*"([^"]*)"`, "m"))?.[1];
    if (value === undefined && fallback === undefined) throw new Error(`${name} is not set in ${configPath}`);
    return value ?? fallback;
  };
  const limiter = (name) => {
    const block = toml.split("[[ratelimits]]").find((b) => b.includes(`"${name}"`));
    const m = block?.match(/limit\s*=\s*(\d+)\s*,\s*period\s*=\s*(\d+)/);
    if (!m) throw new Error(`rate limiter ${name} not found in ${configPath}`);
    return (Number(m[1]) * 86_400) / Number(m[2]);
  };
  const alphabetSize = [...varOf("CODE_ALPHABET")].length;
  return {
    alphabetSize,
    normalLength: Number(varOf("CODE_LENGTH")),
    longLength: Number(varOf("ATTACK_CODE_LENGTH")),
    perDay: {
      clientLookups: limiter("LOOKUP_LIMITER"),
      networkLookups: limiter("NETWORK_LOOKUP_LIMITER"),
      clientFailures: Number(varOf("CLIENT_DAILY_FAILURE_CAP")),
      networkFailures: Number(varOf("NETWORK_DAILY_FAILURE_CAP")),
      normalBudget: Math.min(Number(varOf("GUESS_BUDGET_PER_DAY")), Number(varOf("GUESS_BUDGET_PER_MINUTE")) * 1440),
      longBudget: Math.min(
        Number(varOf("LONG_GUESS_BUDGET_PER_DAY")),
        Number(varOf("LONG_GUESS_BUDGET_PER_MINUTE")) * 1440,
      ),
    },
    budgetPerMinute: Number(varOf("GUESS_BUDGET_PER_MINUTE")),
    cooldownSeconds: Number(varOf("ATTACK_COOLDOWN_SECONDS")),
  };
}

/** SPEC section 9's attacker models: how many networks, and clients in each. */
export const ATTACKERS = [
  { name: "one IPv4 host", networks: 1, clientsPerNetwork: 1 },
  { name: "one IPv6 host holding a /48", networks: 1, clientsPerNetwork: 65_536 },
  { name: "botnet: 10,000 IPv4 addresses in 2,000 /24s", networks: 2_000, clientsPerNetwork: 5 },
];

/** Wrong codes an attacker can have evaluated per day, all classes together, by its own caps. */
export function attackerCapPerDay(config, attacker) {
  const { perDay } = config;
  const perClient = Math.min(perDay.clientLookups, perDay.clientFailures);
  const perNetwork = Math.min(perDay.networkLookups, perDay.networkFailures, perClient * attacker.clientsPerNetwork);
  return perNetwork * attacker.networks;
}

/**
 * Expected successful guesses in a year with `live` codes of each length pending at all times
 * (conservative: both classes at once, each guessed with the attacker's whole capacity).
 */
export function yearlyHits(config, normalPerDay, longPerDay, live) {
  const normalSpace = config.alphabetSize ** config.normalLength;
  const longSpace = config.alphabetSize ** config.longLength;
  return 365 * (normalPerDay * (live / normalSpace) + longPerDay * (live / longSpace));
}

export function analyticOdds(config, attacker) {
  const cap = attackerCapPerDay(config, attacker);
  const normalPerDay = Math.min(cap, config.perDay.normalBudget);
  const longPerDay = Math.min(cap, config.perDay.longBudget);
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
