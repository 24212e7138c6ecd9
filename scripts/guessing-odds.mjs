#!/usr/bin/env node
// `npm run odds [-- --pending N] [--config wrangler.toml]`: how many live codes an attacker with
// unlimited addresses can expect to hit, from the deployment's own configuration.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: { pending: { type: "string", default: "1000" }, config: { type: "string", default: "wrangler.toml" } },
});
const toml = readFileSync(values.config, "utf8");
const varOf = (name, fallback) => toml.match(new RegExp(`^${name}\\s*=\\s*"([^"]*)"`, "m"))?.[1] ?? fallback;
const limiter = (name) => {
  const block = toml.split("[[ratelimits]]").find((b) => b.includes(`"${name}"`)) ?? "";
  const m = block.match(/limit\s*=\s*(\d+)\s*,\s*period\s*=\s*(\d+)/);
  return m ? { limit: Number(m[1]), period: Number(m[2]) } : { limit: 20, period: 60 };
};

export function guessingOdds({ length, alphabetSize, pending, perClient, budget, windowSeconds, cooldownSeconds }) {
  const codeSpace = alphabetSize ** length;
  const pHit = Math.min(1, pending / codeSpace);
  const day = 86_400;
  // Stay just under the global budget all day, or trip it and wait out each cooldown: whichever is more.
  const underBudget = ((budget - 1) * day) / windowSeconds;
  const trippingIt = (budget * day) / (windowSeconds + cooldownSeconds);
  const distributedPerDay = Math.max(underBudget, trippingIt);
  const singleAddressPerDay = Math.min((perClient.limit * day) / perClient.period, distributedPerDay);
  return {
    codeSpace,
    entropyBits: length * Math.log2(alphabetSize),
    pHit,
    singleAddressPerDay,
    distributedPerDay,
    hitsPerDay: distributedPerDay * pHit,
    hitsPerYear: distributedPerDay * pHit * 365,
    singleAddressHitsPerYear: singleAddressPerDay * pHit * 365,
  };
}

const config = {
  length: Number(varOf("CODE_LENGTH", "6")),
  alphabetSize: [...varOf("CODE_ALPHABET", "abcdefghijklmnopqrstuvwxyz")].length,
  pending: Number(values.pending),
  perClient: limiter("LOOKUP_LIMITER"),
  budget: Number(varOf("LOCKDOWN_FAILURE_BUDGET", "300")),
  windowSeconds: Number(varOf("LOCKDOWN_WINDOW_SECONDS", "60")),
  cooldownSeconds: Number(varOf("LOCKDOWN_COOLDOWN_SECONDS", "300")),
};
const fmt = (n) =>
  n >= 1e6 || (n < 0.01 && n > 0) ? n.toExponential(2) : n.toLocaleString("en-US", { maximumFractionDigits: 3 });
const show = (label, c) => {
  const o = guessingOdds(c);
  console.log(`\n${label}`);
  console.log(
    `  codes: ${c.length} of ${c.alphabetSize} symbols = ${fmt(o.codeSpace)} (${o.entropyBits.toFixed(1)} bits), ${fmt(c.pending)} pending`,
  );
  console.log(
    `  limits: ${c.perClient.limit} lookups/${c.perClient.period} s per address; ${c.budget} failures/${c.windowSeconds} s deployment-wide, then ${c.cooldownSeconds} s lockdown`,
  );
  console.log(
    `  one address:     ${fmt(o.singleAddressPerDay)} guesses/day -> ${fmt(o.singleAddressHitsPerYear)} expected hits/year`,
  );
  console.log(
    `  many addresses:  ${fmt(o.distributedPerDay)} guesses/day -> ${fmt(o.hitsPerDay)} hits/day, ${fmt(o.hitsPerYear)} hits/year`,
  );
};

show(`current configuration (${values.config})`, config);
show("recommended: 8 characters", { ...config, length: 8 });
show("recommended: 8 characters and a 60-failure budget", { ...config, length: 8, budget: 60 });
