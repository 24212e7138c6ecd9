#!/usr/bin/env node
import { parseArgs } from "node:util";
import {
  DEFAULT_APP_SCOPES,
  fromTokenRow,
  INSERT_TOKEN,
  kvExpirationOf,
  normalizeTokenRecord,
  REVOKE_TOKEN,
  SCOPES,
  SELECT_TOKEN,
  SELECT_TOKENS,
  tokenIdOf,
  tokenRow,
} from "../common/api-tokens.js";
import { KV_PREFIXES, tokenKey } from "../common/kv-keys.js";
// API tokens from the command line (SPEC §7); the same records POST/GET/DELETE /cc/api/tokens manage.
// A token goes to the registry (D1 CONTROL_DB: lists, revocation) and to KV under its SHA-256 (what
// each request reads). The token is printed once, on the last line; `revoke` takes an id, never a token.
import { RP_APP_ID, RP_APP_ID_RULE } from "../common/rp-app-id.js";
import { STATE_DIR, wrangler } from "./wrangler.mjs";

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
const literal = (v) =>
  v === null || v === undefined ? "NULL" : typeof v === "number" ? String(v) : `'${String(v).replaceAll("'", "''")}'`;
/**
 * One of common/api-tokens.js's statements on the control database, its ?N parameters written in as
 * SQL literals (`wrangler d1 execute` takes no parameters); returns the rows.
 */
const sql = (statement, params = []) => {
  const command = statement.replace(/\?(\d+)/g, (_, n) => literal(params[Number(n) - 1]));
  return JSON.parse(wrangler(["d1", "execute", "CONTROL_DB", "--json", "--command", command, ...where, ...envArgs]))[0]
    .results;
};

function fail(message) {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

async function sha256Hex(text) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Buffer.from(digest).toString("hex");
}

/** Every token record in KV, with its hash. */
function kvTokens() {
  const keys = JSON.parse(kv(["key", "list", "--prefix", KV_PREFIXES.token]));
  return keys.map((k) => {
    const hash = k.name.slice(KV_PREFIXES.token.length);
    return { hash, record: normalizeTokenRecord(k.metadata ?? {}, hash) };
  });
}

if (command === "create") {
  const scopes = values.admin ? ["admin"] : (values.scope?.split(",").map((x) => x.trim()) ?? DEFAULT_APP_SCOPES);
  if (scopes.length === 0 || scopes.some((x) => !SCOPES.includes(x))) fail(`--scope takes ${SCOPES.join(", ")}`);
  const admin = scopes.includes("admin");
  if (!admin && (!values.app || !RP_APP_ID.test(values.app))) {
    fail(`--app <rpAppId> is required for an application token (${RP_APP_ID_RULE})`);
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
    id: tokenIdOf(hash),
    rpAppId: admin ? null : values.app,
    scopes: admin ? ["admin"] : [...new Set(scopes)],
    label: values.label,
    createdAt: Date.now(),
    expiresAt,
  };
  // Registry first, as the API does: a token KV knows is always one revocation can find.
  sql(INSERT_TOKEN, tokenRow(record));
  const json = JSON.stringify(record);
  const expiration = kvExpirationOf(expiresAt);
  kv([
    "key",
    "put",
    tokenKey(hash),
    json,
    "--metadata",
    json,
    ...(expiration ? ["--expiration", String(expiration)] : []),
  ]);
  console.error(
    `created token ${record.id} (${record.scopes.join(",")}) for ${record.rpAppId ?? "every application"}; it is shown once, below:`,
  );
  console.log(token);
} else if (command === "list") {
  // As GET /cc/api/tokens: the registry's live tokens, then those only KV knows (made before it).
  const now = Date.now();
  const registered = sql(`${SELECT_TOKENS} ORDER BY created_at DESC, id`).map(fromTokenRow);
  const known = new Set(registered.map((t) => t.id));
  const live = (t) => t.expiresAt === null || t.expiresAt > now;
  const listed = [
    ...registered.filter((t) => t.revokedAt === null && live(t)),
    ...kvTokens()
      .map((t) => t.record)
      .filter((t) => !known.has(t.id) && live(t)),
  ];
  for (const t of listed) {
    const expires = t.expiresAt ? ` expires ${new Date(t.expiresAt).toISOString()}` : "";
    console.log(
      `${t.id}  ${t.rpAppId ?? "(admin)"}  ${t.scopes.join(",")}  ${new Date(t.createdAt).toISOString()}${expires}  ${t.label}`,
    );
  }
} else if (command === "revoke") {
  if (!arg || arg.startsWith("qrf_")) fail("revoke takes the token's id (from list), never the token itself");
  if (!/^[0-9a-f]{16}$/.test(arg)) fail("a token id is 16 hexadecimal characters, as list shows");
  const inKv = kvTokens().find((t) => t.record.id === arg);
  const [row] = sql(SELECT_TOKEN, [arg]);
  const record = row ? fromTokenRow(row) : inKv?.record;
  if (!record) fail("no such token");
  // As DELETE /cc/api/tokens/{id}: the registry decides (refused everywhere within 10 s), KV is cleaned.
  sql(REVOKE_TOKEN, [...tokenRow(record), Date.now()]);
  if (inKv) kv(["key", "delete", tokenKey(inKv.hash)]);
  console.log(`revoked ${arg}: refused everywhere within 10 seconds`);
} else {
  fail(command ? `unknown command ${command}` : "a command is required");
}
