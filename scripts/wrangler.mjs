// Runs the project's pinned wrangler with telemetry off; shared by the dev and token scripts.
import { spawn, spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
/** Every local command uses this one state folder, so the CLI, dev and migrations see the same data. */
export const STATE_DIR = path.join(root, ".wrangler", "state");
/** The pinned wrangler; QRF_WRANGLER_BIN stands in for it where a test needs Cloudflare's API offline (check-deploy). */
export const wranglerBin =
  process.env.QRF_WRANGLER_BIN ||
  path.join(path.dirname(createRequire(import.meta.url).resolve("wrangler/package.json")), "bin", "wrangler.js");
const env = { ...process.env, WRANGLER_SEND_METRICS: "false" };

/**
 * A local store's SQLite file is shared with a running `npm run dev` (its workerd holds the same
 * D1/KV databases open, with no busy timeout), so a CLI write can find it locked for a moment.
 * SQLite refuses such a statement whole, so trying it again is safe. D1 names the lock; local KV
 * only answers 500 (`KV PUT failed: 500`), and every `wrangler kv` command we run is idempotent.
 */
export const LOCKED = /SQLITE_BUSY|database is locked|KV [A-Z]+ failed: 500/;
export const LOCKED_RETRIES = 8;
/** What a retry prints on stderr (the end-to-end test looks for it). */
export const LOCKED_NOTICE = "the local store is locked by another process (npm run dev?)";

/** Runs wrangler to completion; returns stdout, throws with stderr on failure. */
export function wrangler(args, { quiet = true } = {}) {
  let result;
  for (let attempt = 0; ; attempt++) {
    result = spawnSync(process.execPath, [wranglerBin, ...args], { cwd: root, env, encoding: "utf8" });
    if (result.status === 0 || attempt === LOCKED_RETRIES || !LOCKED.test(`${result.stderr}${result.stdout}`)) break;
    process.stderr.write(
      `wrangler ${args.slice(0, 3).join(" ")}: ${LOCKED_NOTICE}; trying again (${attempt + 1} of ${LOCKED_RETRIES})\n`,
    );
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100 * 2 ** Math.min(attempt, 4)); // 0.1-1.6 s
  }
  if (result.status !== 0) {
    // With --json wrangler reports the error on stdout and only its warnings on stderr: show both.
    throw new Error(`wrangler ${args.slice(0, 3).join(" ")} failed:\n${result.stderr}${result.stdout}`);
  }
  if (!quiet) process.stdout.write(result.stdout);
  return result.stdout;
}

/**
 * Runs wrangler with its output streamed to this process's as it comes (a deploy's progress, a
 * migration's prompts answered non-interactively: stdin is not a terminal); resolves to its stdout,
 * rejects on failure (what it printed has been shown already).
 */
export function wranglerStreamed(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [wranglerBin, ...args], {
      cwd: root,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    child.stdout.on("data", (d) => {
      stdout += d;
      process.stdout.write(d);
    });
    child.stderr.on("data", (d) => process.stderr.write(d));
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve(stdout) : reject(new Error(`wrangler ${args.slice(0, 3).join(" ")} failed (exit ${code})`)),
    );
  });
}

/** Runs wrangler to completion without blocking this process; rejects with stderr on failure. */
export function wranglerAsync(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [wranglerBin, ...args], {
      cwd: root,
      env,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`wrangler ${args.slice(0, 3).join(" ")} failed:\n${stderr}`)),
    );
  });
}

export function spawnWrangler(args) {
  return spawn(process.execPath, [wranglerBin, ...args], { cwd: root, env, stdio: "inherit" });
}

/**
 * Bundles a config's Worker as `wrangler deploy` does (what runs is what would be uploaded) into
 * `outdir`; `entry` replaces the config's `main` (a bench or simulation entry around src/index.ts),
 * `minify: false` keeps names readable in a profile. Returns the bundle's path.
 */
export function bundleWorker(config, outdir, { entry, minify } = {}) {
  const args = ["deploy", ...(entry ? [entry] : []), "--dry-run", "-c", config, "--outdir", outdir];
  if (minify === false) args.push("--minify=false");
  wrangler(args);
  const file = readdirSync(outdir).find((f) => f.endsWith(".js"));
  if (!file) throw new Error(`no bundle for ${config}`);
  return path.join(outdir, file);
}
