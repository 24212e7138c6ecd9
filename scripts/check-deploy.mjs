#!/usr/bin/env node
// `npm run check:deploy` (offline): no environment of the shipped configuration can be deployed as is
// (RP_URL unset), a localhost or http RP_URL is refused, and with a public https RP_URL the dry run of
// every Worker of every environment passes.
import { spawnSync } from "node:child_process";
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
process.exit(failed ? 1 : 0);
