#!/usr/bin/env node
// A stand-in for wrangler talking to Cloudflare's API, for check-deploy's offline runs of `npm run
// deploy` (QRF_WRANGLER_BIN). FAKE_CLOUDFLARE holds the account as JSON: `deployment` (what
// `deployments status --json` prints; "missing" for a Worker never deployed, "offline" for an API
// that cannot be reached) and `versions` (bindings by version id). Every command that would change
// the account is appended to the file FAKE_CLOUDFLARE_LOG instead.
import { appendFileSync } from "node:fs";

const account = JSON.parse(process.env.FAKE_CLOUDFLARE ?? "{}");
const args = process.argv.slice(2);
const [command, sub] = args;
const print = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);
const refuse = (message) => {
  process.stderr.write(`✘ [ERROR] ${message}\n`);
  process.exit(1);
};

if (command === "deployments" && sub === "status") {
  if (account.deployment === "missing") refuse("This Worker does not exist on your account. [code: 10007]");
  if (account.deployment === "offline") refuse("A request to the Cloudflare API failed: fetch failed");
  print(account.deployment);
} else if (command === "versions" && sub === "view") {
  print({ id: args[2], resources: { bindings: account.versions[args[2]] } });
} else if (command === "secret" && sub === "list") {
  print([{ name: "SERVER_SECRET", type: "secret_text" }]);
} else if (command === "d1" || command === "deploy") {
  appendFileSync(process.env.FAKE_CLOUDFLARE_LOG, `${args.join(" ")}\n`);
  // FAKE_WRANGLER_STEP_MS: each change takes that long, printing as it starts and as it ends
  // (check-deploy sees the first line arrive before the step is over: the output is streamed).
  const ms = Number(process.env.FAKE_WRANGLER_STEP_MS ?? 0);
  if (ms) {
    process.stdout.write(`fake ${command}: started\n`);
    await new Promise((resolve) => setTimeout(resolve, ms));
    process.stdout.write(`fake ${command}: finished\n`);
  }
} else {
  refuse(`fake-wrangler: no stand-in for "${args.join(" ")}"`);
}
