#!/usr/bin/env node
// API tokens: `npm run token -- create --app <rpAppId> [--admin] [--label <text>] [--local|--remote] [--env <name>]`,
// `list`, `revoke <id|token>`. Only the SHA-256 of a token is stored; the token is printed once, last.
import { parseArgs } from "node:util";
import { KV_PREFIXES, tokenKey } from "../common/kv-keys.js";
import { STATE_DIR, wrangler } from "./wrangler.mjs";

const PREFIX = KV_PREFIXES.token;
const USAGE = `usage:
  npm run token -- create --app <rpAppId> [--admin] [--label <text>] [--local|--remote]
  npm run token -- list [--local|--remote]
  npm run token -- revoke <id|token> [--local|--remote]`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    app: { type: "string" },
    admin: { type: "boolean", default: false },
    label: { type: "string", default: "" },
    local: { type: "boolean", default: false },
    remote: { type: "boolean", default: false },
    env: { type: "string" },
  },
});
const [command, arg] = positionals;
if (values.local && values.remote) fail("choose one of --local and --remote");
const where = values.remote ? ["--remote"] : ["--local", "--persist-to", STATE_DIR];
const envArgs = values.env ? ["--env", values.env] : [];
const kv = (args) => wrangler(["kv", ...args, "--binding", "QR_KV", ...where, ...envArgs]);

function fail(message) {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

async function sha256Hex(text) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Buffer.from(digest).toString("hex");
}

function listTokens() {
  const keys = JSON.parse(kv(["key", "list", "--prefix", PREFIX]));
  return keys.map((k) => ({ hash: k.name.slice(PREFIX.length), ...k.metadata }));
}

if (command === "create") {
  if (!values.app || !/^[\w.:-]{1,128}$/.test(values.app))
    fail("--app <rpAppId> is required (letters, digits, . _ : -)");
  const token = `qrf_${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url")}`;
  const record = { rpAppId: values.app, admin: values.admin, label: values.label, createdAt: Date.now() };
  const json = JSON.stringify(record);
  kv(["key", "put", tokenKey(await sha256Hex(token)), json, "--metadata", json]);
  console.error(`created ${values.admin ? "admin " : ""}token for ${values.app}; it is shown once, below:`);
  console.log(token);
} else if (command === "list") {
  for (const t of listTokens()) {
    const created = new Date(t.createdAt).toISOString();
    console.log(`${t.hash.slice(0, 12)}  ${t.rpAppId}${t.admin ? " (admin)" : ""}  ${created}  ${t.label ?? ""}`);
  }
} else if (command === "revoke") {
  if (!arg) fail("revoke needs the id shown by list, or the token itself");
  const hash = arg.startsWith("qrf_") ? await sha256Hex(arg) : arg.toLowerCase();
  const matches = listTokens().filter((t) => t.hash.startsWith(hash));
  if (matches.length !== 1)
    fail(matches.length === 0 ? "no such token" : "that id matches several tokens; give more of it");
  kv(["key", "delete", tokenKey(matches[0].hash)]);
  console.log(`revoked ${matches[0].hash.slice(0, 12)} (${matches[0].rpAppId})`);
} else {
  fail(command ? `unknown command ${command}` : "a command is required");
}
