#!/usr/bin/env node
// `npm run odds [-- --config wrangler.toml]`: for each attacker model of SPEC section 9, the wrong codes
// the deployment's configuration lets it have evaluated per day and the successful guesses to expect
// in a year at 100 and 1,000 live codes. `npm run attack-sim` measures the same against the real Workers.
import { parseArgs } from "node:util";
import { ATTACKERS, analyticOdds, fmt, readGuessingConfig } from "./guessing-model.mjs";

const { values } = parseArgs({ options: { config: { type: "string", default: "wrangler.toml" } } });
const config = readGuessingConfig(values.config);
const bits = (length) => (length * Math.log2(config.alphabetSize)).toFixed(1);
console.log(`configuration: ${values.config}`);
console.log(
  `  codes: ${config.normalLength} of ${config.alphabetSize} symbols (${bits(config.normalLength)} bits); attack mode: ${config.longLength} (${bits(config.longLength)} bits)`,
);
console.log(
  `  per day: ${fmt(config.perDay.normalBudget)} wrong normal-length codes deployment-wide, ${fmt(config.perDay.longBudget)} long;` +
    ` ${fmt(config.perDay.clientFailures)} failures per client, ${fmt(config.perDay.networkFailures)} per network`,
);
console.log(
  "\n| attacker (a year) | wrong codes evaluated / day (normal, long) | expected hits / year at 100 live | at 1,000 live |",
);
console.log("| --- | --- | --- | --- |");
for (const attacker of ATTACKERS) {
  const o = analyticOdds(config, attacker);
  console.log(
    `| ${attacker.name} | ${fmt(o.normalPerDay)}, ${fmt(o.longPerDay)} | ${fmt(o.hits100)} | ${fmt(o.hits1000)} |`,
  );
}
