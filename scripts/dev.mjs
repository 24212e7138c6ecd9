#!/usr/bin/env node
// `npm run dev [-- --port N]`: the three Workers (API, static files, audit consumer) on one local workerd, state under .wrangler/state.
// Generates a local SERVER_SECRET into .dev.vars when missing and applies D1 migrations first.
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { root, STATE_DIR, spawnWrangler, wrangler } from "./wrangler.mjs";

const devVars = path.join(root, ".dev.vars");
const current = existsSync(devVars) ? readFileSync(devVars, "utf8") : "";
if (!/^SERVER_SECRET=/m.test(current)) {
  const line = `SERVER_SECRET="${randomBytes(32).toString("hex")}"\n`;
  writeFileSync(devVars, current + (current && !current.endsWith("\n") ? "\n" : "") + line, { mode: 0o600 });
  console.log("generated a local SERVER_SECRET in .dev.vars (never commit it)");
}

// Swagger UI for /docs, from node_modules into public/vendor.
await import("./vendor-assets.mjs");

wrangler(["d1", "migrations", "apply", "AUDIT_DB", "--local", "--persist-to", STATE_DIR]);
wrangler(["d1", "migrations", "apply", "CONTROL_DB", "--local", "--persist-to", STATE_DIR]);
console.log("local D1 migrations applied");

// RP_URL is this local server (the shipped config leaves it empty): the port given, or 8787.
const args = process.argv.slice(2);
const portIndex = args.indexOf("--port");
const port = portIndex >= 0 ? args[portIndex + 1] : "8787";

const child = spawnWrangler([
  "dev",
  "-c",
  "wrangler.toml",
  "-c",
  "static-assets/wrangler.toml",
  "-c",
  "audit-consumer/wrangler.toml",
  "--persist-to",
  STATE_DIR,
  "--var",
  "DEMO_ENABLED:true",
  "--var",
  "EVENT_HOOKS_ALLOW_LOCAL:true",
  "--var",
  `RP_URL:http://localhost:${port}`,
  ...args,
]);
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code) => process.exit(code ?? 0));
