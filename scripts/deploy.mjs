#!/usr/bin/env node
// `npm run deploy [-- --env staging|production] [--dry-run] [--var NAME:value ...]`: deploys the three
// Workers (of that environment of wrangler.toml; without --env, the top-level one), refusing to go
// quietly wrong. In order: RP_URL must be a public https URL (it goes into every QR payload); the
// SERVER_SECRET secret must exist on the Worker; every live version must run CLAIM_SHARDS "64" or
// "regional" (common/claim-shards.js), and while one still makes 0.7's claims the main Worker is given
// CLAIM_LEGACY_UNTIL (30 minutes past the main Worker's step, carried over by later deploys until it passes); the D1 migrations
// are applied remotely; then the static-assets Worker, the audit consumer and the main Worker are deployed.
// --dry-run checks what can be checked offline and runs `wrangler deploy --dry-run` for each Worker.
import path from "node:path";
import { parseArgs } from "node:util";
import { unstable_readConfig } from "wrangler";
import { claimLegacyUntil, claimRolloutRefusal, parseClaimSharding } from "../common/claim-shards.js";
import { varOf as defaultedVar } from "../common/config-vars.js";
import { root, wrangler, wranglerStreamed } from "./wrangler.mjs";

const { values } = parseArgs({
  options: {
    env: { type: "string" },
    "dry-run": { type: "boolean", default: false },
    var: { type: "string", multiple: true, default: [] },
  },
});
const dryRun = values["dry-run"];
const varArgs = values.var.flatMap((v) => ["--var", v]);
/** The main Worker's --var arguments: the command line's, and what the rollout carries over. */
const mainVarArgs = [...varArgs];
/** The versions serving the main Worker before this deploy (null: none, or a dry run). */
let liveVersions = null;
const envArgs = values.env ? ["--env", values.env] : [];

function fail(message) {
  console.error(`deploy refused: ${message}`);
  process.exit(1);
}

/** A var as deployed: a --var override, else the environment's vars (wrangler's own reader), else its default. */
function varOf(name) {
  const override = values.var.find((v) => v.startsWith(`${name}:`));
  if (override) return override.slice(name.length + 1);
  const config = unstable_readConfig(
    { config: path.join(root, "wrangler.toml"), env: values.env },
    { hideWarnings: true },
  );
  return defaultedVar(config.vars, name);
}

if (varOf("DEMO_ENABLED") === "true") fail("DEMO_ENABLED is for npm run dev only (the Worker would refuse to serve)");
const url = varOf("RP_URL");
let parsed;
try {
  parsed = new URL(url);
} catch {
  fail(
    `RP_URL is ${url ? `"${url}", not a URL` : "not set"}: set it to this deployment's public https URL in config/environments.toml (then npm run config), or pass --var RP_URL:https://...`,
  );
}
if (parsed.protocol !== "https:") fail(`RP_URL must be https (it is ${url})`);
if (
  /^(localhost|127\.\d+\.\d+\.\d+|\[::1\]|0\.0\.0\.0)$/.test(parsed.hostname) ||
  parsed.hostname.endsWith(".localhost")
) {
  fail(`RP_URL points at this machine (${url}): phones would be sent nowhere`);
}
console.log(`RP_URL ok: ${url}`);
const claimSharding = parseClaimSharding(varOf("CLAIM_SHARDS"));
if (claimSharding === null) fail(`CLAIM_SHARDS is "${varOf("CLAIM_SHARDS")}": this version runs only "regional"`);

/**
 * The versions serving the main Worker now, each with the CLAIM_SHARDS and QR lifetime it runs, and
 * the age of that deployment; live is null only for a Worker that was never deployed.
 */
function liveDeployment() {
  let deployment;
  try {
    deployment = JSON.parse(wrangler(["deployments", "status", "--json", "-c", "wrangler.toml", ...envArgs]));
  } catch (err) {
    // Anything else (no login, no network) must not pass for "never deployed".
    if (/does not exist|\[code: 10007\]/.test(String(err))) return { live: null };
    fail(`could not read the live deployment, which CLAIM_SHARDS must be checked against:\n${err}`);
  }
  const live = deployment.versions.map(({ version_id }) => {
    const version = JSON.parse(wrangler(["versions", "view", version_id, "--json", "-c", "wrangler.toml", ...envArgs]));
    const bindings = version.resources.bindings;
    const text = (name) => bindings.find((b) => b.type === "plain_text" && b.name === name)?.text;
    return {
      claimShards: text("CLAIM_SHARDS") || undefined,
      hasGuessBudget: bindings.some((b) => b.type === "durable_object_namespace" && b.name === "GUESS_BUDGET"),
      claimLegacyUntil: Number(text("CLAIM_LEGACY_UNTIL")) || undefined,
    };
  });
  return { live };
}

await import("./vendor-assets.mjs"); // Swagger UI for /docs, into the assets directory

if (!dryRun) {
  const secrets = JSON.parse(wrangler(["secret", "list", "--format", "json", ...envArgs]));
  if (!secrets.some((s) => s.name === "SERVER_SECRET")) {
    fail(
      `the SERVER_SECRET secret is not set: openssl rand -hex 32 | npx wrangler secret put SERVER_SECRET ${envArgs.join(" ")}`,
    );
  }
  console.log("SERVER_SECRET ok");
  const { live } = liveDeployment();
  const refusal = claimRolloutRefusal({ live });
  if (refusal) fail(`CLAIM_SHARDS "${claimSharding}": ${refusal}`);
  // The sharding is written into the version, so the next deploy reads it rather than infers it.
  mainVarArgs.push("--var", `CLAIM_SHARDS:${claimSharding}`);
  liveVersions = live;
  console.log(`CLAIM_SHARDS ok: ${claimSharding}`);
  for (const [binding, config] of [
    ["AUDIT_DB", "audit-consumer/wrangler.toml"],
    ["CONTROL_DB", "wrangler.toml"],
  ]) {
    await step(`migrations of ${binding}`, [
      "d1",
      "migrations",
      "apply",
      binding,
      "--remote",
      "-c",
      config,
      ...envArgs,
    ]);
  }
}

/** One wrangler step, its output shown as it comes (issue #31); a failure stops the deploy. */
async function step(what, args) {
  console.log(`\n== ${what}: wrangler ${args.join(" ")}`);
  const started = Date.now();
  try {
    await wranglerStreamed(args);
  } catch (err) {
    fail(`${what}: ${err.message}`);
  }
  console.log(`== ${what}: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

const deploy = (config, extra = []) =>
  step(`${dryRun ? "dry run of " : ""}${config}`, [
    "deploy",
    "-c",
    config,
    ...envArgs,
    ...(dryRun ? ["--dry-run"] : []),
    ...extra,
  ]);
await deploy("static-assets/wrangler.toml");
await deploy("audit-consumer/wrangler.toml");
// The legacy window starts when the main Worker is deployed, not when this script started.
const legacyUntil = liveVersions && claimLegacyUntil({ live: liveVersions, now: Date.now() });
if (legacyUntil) {
  mainVarArgs.push("--var", `CLAIM_LEGACY_UNTIL:${legacyUntil}`);
  console.log(`0.7's claims honoured until ${new Date(legacyUntil).toISOString()} (CLAIM_LEGACY_UNTIL)`);
}
await deploy("wrangler.toml", mainVarArgs);
console.log(dryRun ? "dry run complete: nothing was deployed" : "deployed");
