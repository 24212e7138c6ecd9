#!/usr/bin/env node
// `npm run check:deploy` (offline): no environment of the shipped configuration can be deployed as is
// (RP_URL unset), a localhost or http RP_URL is refused, and with a public https RP_URL the dry run of
// every Worker of every environment passes. Against a stand-in for Cloudflare's API (fake-wrangler.mjs),
// a deploy onto a live Worker on neither CLAIM_SHARDS "64" nor "regional" is refused before it changes
// anything; one onto a 64 Worker (0.4 to 0.7) deploys with CLAIM_LEGACY_UNTIL, which later deploys carry
// over while it lasts.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { root } from "./wrangler.mjs";

const deploy = (...args) =>
  spawnSync(process.execPath, [path.join(root, "scripts/deploy.mjs"), "--dry-run", ...args], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });

let failed = false;
function expect(label, result, ok, pattern) {
  const output = `${result.stdout}${result.stderr}`;
  const passed = (result.status === 0) === ok && pattern.test(output);
  failed ||= !passed;
  console.log(`${passed ? "ok  " : "FAIL"} ${label}`);
  if (!passed) console.log(output);
}

expect("the shipped config is refused (RP_URL not set)", deploy(), false, /RP_URL is not set/);
expect(
  "a localhost RP_URL is refused",
  deploy("--var", "RP_URL:https://localhost:8787"),
  false,
  /points at this machine/,
);
expect("an http RP_URL is refused", deploy("--var", "RP_URL:http://qr.example.com"), false, /must be https/);
expect(
  "the demo is refused",
  deploy("--var", "RP_URL:https://qr.example.com", "--var", "DEMO_ENABLED:true"),
  false,
  /DEMO_ENABLED is for npm run dev only/,
);
for (const env of ["staging", "production"]) {
  expect(`${env}: the shipped config is refused (RP_URL not set)`, deploy("--env", env), false, /RP_URL is not set/);
  expect(
    `${env}: with a public https RP_URL, every Worker's dry run passes`,
    deploy("--env", env, "--var", `RP_URL:https://qr-${env}.example.com`),
    true,
    /dry run complete/,
  );
}
expect(
  "top level: with a public https RP_URL, every Worker's dry run passes",
  deploy("--var", "RP_URL:https://qr.example.com"),
  true,
  /dry run complete/,
);

/**
 * `npm run deploy` (not a dry run) against an account whose main Worker runs the versions `live`
 * (each: its CLAIM_SHARDS or undefined, whether it binds GUESS_BUDGET, its CLAIM_LEGACY_UNTIL), or
 * "missing" / "offline".
 */
function deployAgainst(live, ...args) {
  const dir = mkdtempSync(path.join(tmpdir(), "qrf-deploy-"));
  const log = path.join(dir, "changes.log");
  writeFileSync(log, "");
  const versions = {};
  const deployment =
    typeof live === "string"
      ? live
      : {
          created_on: new Date().toISOString(),
          versions: live.map(({ claimShards, guessBudget = true, legacyUntil }, i) => {
            versions[`v${i}`] = [
              { type: "plain_text", name: "QR_TTL_SECONDS", text: "180" },
              ...(claimShards ? [{ type: "plain_text", name: "CLAIM_SHARDS", text: claimShards }] : []),
              ...(legacyUntil ? [{ type: "plain_text", name: "CLAIM_LEGACY_UNTIL", text: String(legacyUntil) }] : []),
              ...(guessBudget ? [{ type: "durable_object_namespace", name: "GUESS_BUDGET" }] : []),
            ];
            return { version_id: `v${i}`, percentage: 100 / live.length };
          }),
        };
  const result = spawnSync(
    process.execPath,
    [path.join(root, "scripts/deploy.mjs"), "--var", "RP_URL:https://qr.example.com", ...args],
    {
      cwd: root,
      encoding: "utf8",
      env: {
        ...process.env,
        WRANGLER_SEND_METRICS: "false",
        QRF_WRANGLER_BIN: path.join(root, "scripts/fake-wrangler.mjs"),
        FAKE_CLOUDFLARE: JSON.stringify({ deployment, versions }),
        FAKE_CLOUDFLARE_LOG: log,
      },
    },
  );
  const changes = readFileSync(log, "utf8");
  rmSync(dir, { recursive: true, force: true });
  return { ...result, changes };
}

/** A refused deploy changed nothing on the account; an allowed one migrated and deployed all three Workers. */
function expectDeploy(label, result, ok, pattern) {
  const deployed = (result.changes.match(/^deploy /gm) ?? []).length;
  const changedAsExpected = ok ? deployed === 3 : result.changes === "";
  expect(label, { ...result, status: changedAsExpected ? result.status : -1 }, ok, pattern);
}

/** The CLAIM_LEGACY_UNTIL the main Worker was deployed with (null: none). */
const legacyUntilOf = (result) => {
  const m = /^deploy -c wrangler\.toml.*--var CLAIM_LEGACY_UNTIL:(\d+)/m.exec(result.changes);
  return m ? Number(m[1]) : null;
};

expectDeploy(
  "CLAIM_SHARDS: a live 4096 Worker is refused (0.5.0 finishes that move first)",
  deployAgainst([{ claimShards: "4096" }]),
  false,
  /finish the move to "64" with 0.5.0 first/,
);
expectDeploy(
  "CLAIM_SHARDS: a pre-0.4.0 Worker is refused",
  deployAgainst([{ claimShards: undefined, guessBudget: false }]),
  false,
  /finish the move to "64"/,
);
expectDeploy(
  "CLAIM_SHARDS: a Worker still moving (4096+64) is refused",
  deployAgainst([{ claimShards: "4096+64" }]),
  false,
  /finish the move to "64"/,
);
const before = Date.now();
const over07 = deployAgainst([{ claimShards: undefined }]);
expectDeploy("CLAIM_SHARDS: a live 0.7 Worker (64 by default) deploys", over07, true, /0.7's claims honoured until/);
const until = legacyUntilOf(over07);
expect(
  "...with CLAIM_SHARDS regional and CLAIM_LEGACY_UNTIL 30 minutes past the main Worker's step",
  {
    ...over07,
    status: until !== null && until - before >= 1_800_000 && /--var CLAIM_SHARDS:regional/.test(over07.changes) ? 0 : 1,
  },
  true,
  /CLAIM_SHARDS ok/,
);
const carried = deployAgainst([{ claimShards: "regional", legacyUntil: Date.now() + 300_000 }]);
expect(
  "CLAIM_SHARDS: a deploy during the move carries CLAIM_LEGACY_UNTIL over",
  { ...carried, status: legacyUntilOf(carried) !== null ? carried.status : 1 },
  true,
  /honoured until/,
);
const settled = deployAgainst([{ claimShards: "regional", legacyUntil: Date.now() - 1 }]);
expect(
  "CLAIM_SHARDS: once the move is over, no CLAIM_LEGACY_UNTIL",
  { ...settled, status: legacyUntilOf(settled) === null ? settled.status : 1 },
  true,
  /CLAIM_SHARDS ok: regional\n(?![\s\S]*honoured until)/,
);
expectDeploy("CLAIM_SHARDS: a first deployment deploys", deployAgainst("missing"), true, /CLAIM_SHARDS ok: regional\n/);
expectDeploy(
  "CLAIM_SHARDS: an unreadable live deployment is refused",
  deployAgainst("offline"),
  false,
  /could not read the live deployment/,
);
expectDeploy(
  "CLAIM_SHARDS: a value that is no sharding this version runs is refused",
  deployAgainst([{ claimShards: "regional" }], "--var", "CLAIM_SHARDS:64"),
  false,
  /this version runs only "regional"/,
);
// Issue #31: wrangler's output is shown as it comes, not when its step is over.
{
  const started = Date.now();
  const seen = {};
  const child = spawn(
    process.execPath,
    [path.join(root, "scripts/deploy.mjs"), "--var", "RP_URL:https://qr.example.com"],
    {
      cwd: root,
      env: {
        ...process.env,
        WRANGLER_SEND_METRICS: "false",
        QRF_WRANGLER_BIN: path.join(root, "scripts/fake-wrangler.mjs"),
        FAKE_CLOUDFLARE: JSON.stringify({ deployment: "missing", versions: {} }),
        FAKE_CLOUDFLARE_LOG: path.join(mkdtempSync(path.join(tmpdir(), "qrf-deploy-")), "changes.log"),
        FAKE_WRANGLER_STEP_MS: "1500",
      },
    },
  );
  let output = "";
  child.stdout.on("data", (d) => {
    output += d;
    for (const mark of ["started", "finished"])
      if (!seen[mark] && output.includes(`fake d1: ${mark}`)) seen[mark] = Date.now() - started;
  });
  const status = await new Promise((resolve) => child.on("close", resolve));
  const streamed = status === 0 && seen.started !== undefined && seen.finished - seen.started >= 1000;
  expect(
    "deploy streams wrangler's output as it comes (a step's first line before its end)",
    { status: streamed ? 0 : 1, stdout: output, stderr: "" },
    true,
    /deployed/,
  );
}
process.exit(failed ? 1 : 0);
