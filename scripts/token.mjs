#!/usr/bin/env node
// API tokens from the command line (SPEC §7); the same records POST/GET/DELETE /cc/api/tokens manage.
// A token goes to the registry (D1 CONTROL_DB: lists, revocation) and to KV under its SHA-256 (what
// each request reads). The token is printed once, on the last line; `revoke` takes an id, never a token.
import { parseArgs } from "node:util";
import { KV_PREFIXES, tokenKey } from "../common/kv-keys.js";
import { STATE_DIR, wrangler } from "./wrangler.mjs";

const SCOPES = ["qr:create", "audit:read", "admin"];
const USAGE = `usage:
  npm run token -- create --app <rpAppId> [--scope qr:create,audit:read] [--label <text>] [--expires-days N] [--local|--remote] [--env <name>]
  npm run token -- create --admin [--label <text>] [--expires-days N] [--local|--remote]
  npm run token -- list [--local|--remote]
  npm run token -- revoke <id> [--local|--remote]
Without --scope an application token gets qr:create,audit:read; give workstations qr:create only
and SIEMs audit:read only. A revoked or expired token is refused everywhere within 10 seconds.`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    app: { type: "string" },
    admin: { type: "boolean", default: false },
    scope: { type: "string" },
    label: { type: "string", default: "" },
    "expires-days": { type: "string" },
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
/** One SQL statement on the control database; returns its rows. */
const sql = (command) =>
  JSON.parse(wrangler(["d1", "execute", "CONTROL_DB", "--json", "--command", command, ...where, ...envArgs]))[0]
    .results;
const quote = (text) => `'${String(text).replaceAll("'", "''")}'`;
const value = (v) => (v === null ? "NULL" : typeof v === "number" ? String(v) : quote(v));

function fail(message) {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

async function sha256Hex(text) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Buffer.from(digest).toString("hex");
}

function kvTokens() {
  const keys = JSON.parse(kv(["key", "list", "--prefix", KV_PREFIXES.token]));
  return keys.map((k) => ({ hash: k.name.slice(KV_PREFIXES.token.length), ...k.metadata }));
}

if (command === "create") {
  const scopes = values.admin ? ["admin"] : (values.scope ?? "qr:create,audit:read").split(",").map((s) => s.trim());
  if (scopes.some((s) => !SCOPES.includes(s)) || scopes.length === 0) fail(`--scope takes ${SCOPES.join(", ")}`);
  const admin = scopes.includes("admin");
  if (!admin && (!values.app || !/^[\w.:-]{1,128}$/.test(values.app))) {
    fail("--app <rpAppId> is required for an application token (letters, digits, . _ : -)");
  }
  if (values.label.length > 128) fail("--label is at most 128 characters");
  let expiresAt = null;
  if (values["expires-days"] !== undefined) {
    const days = Number(values["expires-days"]);
    if (!Number.isInteger(days) || days < 1 || days > 3650) fail("--expires-days is a whole number from 1 to 3650");
    expiresAt = Date.now() + days * 86_400_000;
  }
  const token = `qrf_${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url")}`;
  const hash = await sha256Hex(token);
  const record = {
    id: hash.slice(0, 16),
    rpAppId: admin ? null : values.app,
    scopes: admin ? ["admin"] : [...new Set(scopes)],
    label: values.label,
    createdAt: Date.now(),
    expiresAt,
  };
  // Registry first, as the API does: a token KV knows is always one revocation can find.
  sql(
    `INSERT INTO api_tokens (id, rp_app_id, scopes, label, created_at, expires_at) VALUES (${[
      record.id,
      record.rpAppId,
      record.scopes.join(","),
      record.label,
      record.createdAt,
      record.expiresAt,
    ]
      .map(value)
      .join(", ")})`,
  );
  const json = JSON.stringify(record);
  const expiry = expiresAt === null ? [] : ["--expiration", String(Math.ceil(expiresAt / 1000) + 3600)];
  kv(["key", "put", tokenKey(hash), json, "--metadata", json, ...expiry]);
  console.error(
    `created token ${record.id} (${record.scopes.join(",")}) for ${record.rpAppId ?? "every application"}; it is shown once, below:`,
  );
  console.log(token);
} else if (command === "list") {
  const registered = sql(
    `SELECT id, rp_app_id, scopes, label, created_at, expires_at FROM api_tokens WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ${Date.now()}) ORDER BY created_at DESC`,
  );
  const known = new Set(sql("SELECT id FROM api_tokens").map((r) => r.id));
  const legacy = kvTokens()
    .filter((t) => !known.has(t.hash.slice(0, 16)))
    .map((t) => ({
      id: t.hash.slice(0, 16),
      rp_app_id: t.admin ? null : t.rpAppId,
      scopes: t.admin ? "admin" : "qr:create,audit:read",
      label: t.label ?? "",
      created_at: t.createdAt,
      expires_at: null,
    }));
  for (const t of [...registered, ...legacy]) {
    const expires = t.expires_at ? ` expires ${new Date(t.expires_at).toISOString()}` : "";
    console.log(
      `${t.id}  ${t.rp_app_id ?? "(admin)"}  ${t.scopes}  ${new Date(t.created_at).toISOString()}${expires}  ${t.label}`,
    );
  }
} else if (command === "revoke") {
  if (!arg || arg.startsWith("qrf_")) fail("revoke takes the token's id (from list), never the token itself");
  if (!/^[0-9a-f]{16}$/.test(arg)) fail("a token id is 16 hexadecimal characters, as list shows");
  const inKv = kvTokens().find((t) => t.hash.startsWith(arg));
  const [row] = sql(`SELECT id FROM api_tokens WHERE id = ${quote(arg)}`);
  if (!row && !inKv) fail("no such token");
  const now = Date.now();
  if (row) {
    sql(`UPDATE api_tokens SET revoked_at = ${now} WHERE id = ${quote(arg)} AND revoked_at IS NULL`);
  } else {
    // Made before the registry: its row is added, revoked.
    const scopes = inKv.admin ? "admin" : "qr:create,audit:read";
    sql(
      `INSERT INTO api_tokens (id, rp_app_id, scopes, label, created_at, revoked_at) VALUES (${[
        arg,
        inKv.admin ? null : inKv.rpAppId,
        scopes,
        inKv.label ?? "",
        inKv.createdAt ?? 0,
        now,
      ]
        .map(value)
        .join(", ")})`,
    );
  }
  if (inKv) kv(["key", "delete", tokenKey(inKv.hash)]);
  console.log(`revoked ${arg}: refused everywhere within 10 seconds`);
} else {
  fail(command ? `unknown command ${command}` : "a command is required");
}
