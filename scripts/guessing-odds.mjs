#!/usr/bin/env node
import path from "node:path";
import { parseArgs } from "node:util";
import { ATTACKERS, analyticOdds, fmt, readGuessingConfig } from "./guessing-model.mjs";
import { writeGenerated } from "./lib/generated.mjs";
import { root } from "./wrangler.mjs";

const { values } = parseArgs({
  options: {
    config: { type: "string", default: "wrangler.toml" },
    env: { type: "string" },
    write: { type: "boolean", default: false },
  },
});
const config = readGuessingConfig(values.config, values.env);
const bits = (length) => (length * Math.log2(config.alphabetSize)).toFixed(1);
const lines = [
  `Configuration: \`${values.config}\`${values.env ? ` [env.${values.env}]` : ""}. Codes: ${config.normalLength} of ${config.alphabetSize} symbols (${bits(config.normalLength)} bits); attack mode: ${config.longLength} (${bits(config.longLength)} bits). Per day: ${fmt(config.perDay.normalBudget)} wrong normal-length codes deployment-wide (long codes: no budget, never refused); ${fmt(config.perDay.clientFailures)} failures per client, ${fmt(config.perDay.networkFailures)} per network.`,
  "",
  "| attacker (a year, at full capacity every day) | wrong codes evaluated / day (normal, long) | expected hits / year at 100 live codes | at 1,000 live |",
  "| --- | --- | --- | --- |",
  ...ATTACKERS.map((attacker) => {
    const o = analyticOdds(config, attacker);
    return `| ${attacker.name} | ${fmt(o.normalPerDay)}, ${fmt(o.longPerDay)} | ${fmt(o.hits100)} | ${fmt(o.hits1000)} |`;
  }),
];
console.log(lines.join("\n"));
if (values.write) {
  const doc = path.join(root, "docs/security-model.md");
  writeGenerated(doc, "odds", lines.join("\n"));
  console.log(`\nwritten into ${path.relative(root, doc)}`);
}
