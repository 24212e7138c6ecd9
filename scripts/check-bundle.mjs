#!/usr/bin/env node
// `npm run check:bundle`: `wrangler deploy --dry-run` for the three Workers; fails when the main Worker's
// upload is over its 64 KiB gzip budget (startup time and cold starts grow with it).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { wrangler } from "./wrangler.mjs";

await import("./vendor-assets.mjs"); // the assets directory must be complete for a dry run

const BUDGET_KIB = 64;
let failed = false;
for (const [name, config, budget] of [
  ["qr-fallback", "wrangler.toml", BUDGET_KIB],
  ["audit-consumer", "audit-consumer/wrangler.toml", BUDGET_KIB],
]) {
  const outdir = mkdtempSync(path.join(tmpdir(), "qrf-dry-"));
  const out = wrangler(["deploy", "--dry-run", "-c", config, "--outdir", outdir]);
  const m = out.match(/Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/);
  if (!m) throw new Error(`could not read the upload size of ${name}:\n${out}`);
  const gzip = Number(m[2]);
  const ok = gzip <= budget;
  failed ||= !ok;
  console.log(`${ok ? "ok  " : "FAIL"} ${name}: ${m[1]} KiB, gzip ${gzip} KiB (budget ${budget} KiB gzip)`);
}
// The assets-only Worker has no code to measure; its dry run checks the config and the files.
wrangler(["deploy", "--dry-run", "-c", "static-assets/wrangler.toml"]);
console.log("ok   qr-fallback-static: assets only");
process.exit(failed ? 1 : 0);
