#!/usr/bin/env node
// API tokens from the command line (SPEC §7): the same records POST/GET/DELETE /cc/api/tokens manage,
// minted by the same code (common/api-tokens.js). Locally, `npm run dev`'s stores are written as
// the SQLite files they are (no process started); before they exist, Miniflare creates them and the
// control database's migrations are applied, so it works before `npm run dev` has ever run.
// --remote goes through wrangler to the account's stores. The token is printed once, alone on the
// last line; `revoke` takes an id, never a token.
import { readdirSync, readFileSync } from "node:fs";
import { enableCompileCache } from "node:module";
import path from "node:path";
import { parseArgs } from "node:util";
import { parse } from "smol-toml";
import {
  DEFAULT_APP_SCOPES,
  fromTokenRow,
  INSERT_TOKEN,
  mintToken,
  REVOKE_TOKEN,
  SCOPES,
  SELECT_TOKEN,
  SELECT_TOKENS,
  tokenIdOf,
  tokenRow,
} from "../common/api-tokens.js";
import { KV_PREFIXES } from "../common/kv-keys.js";
import { RP_APP_ID, RP_APP_ID_RULE } from "../common/rp-app-id.js";
import { localStoresMiniflare, openLocalStores } from "./lib/local-stores.mjs";
import { LOCKED, LOCKED_NOTICE, LOCKED_RETRIES, root, STATE_DIR, wrangler } from "./wrangler.mjs";

const USAGE = `usage:
  npm run token -- create --app <rpAppId> [--scope qr:create,audit:read] [--label <text>] [--expires-days N] [--remote --env <name>]
  npm run token -- create --admin [--label <text>] [--expires-days N] [--remote --env <name>]
  npm run token -- list [--remote --env <name>]
  npm run token -- revoke <id> [--remote --env <name>]
Without --scope an application token gets qr:create,audit:read; give workstations qr:create only
and SIEMs audit:read only. A revoked or expired token is refused everywhere within 9 seconds.
Without --remote: the local stores of npm run dev (.wrangler/state), whether or not it runs.`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    app: { type: "string" },
    admin: { type: "boolean", default: false },
    scope: { type: "string" },
    label: { type: "string", default: "" },
    "expires-days": { type: "string" },
    local: { type: "boolean", default: false }, // the default; kept for scripts that pass it
    remote: { type: "boolean", default: false },
    env: { type: "string" },
  },
});
const [command, arg] = positionals;

function fail(message) {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}
if (values.local && values.remote) fail("choose one of --local and --remote");

/** The QR_KV and CONTROL_DB ids of the environment's configuration (generated sections included). */
function bindingIds() {
  const config = parse(readFileSync(path.join(root, "wrangler.toml"), "utf8"));
  const section = values.env ? config.env?.[values.env] : config;
  if (!section) fail(`wrangler.toml has no environment ${values.env}`);
  const kvId = section.kv_namespaces?.find((k) => k.binding === "QR_KV")?.id;
  const dbId = section.d1_databases?.find((d) => d.binding === "CONTROL_DB")?.database_id;
  return { kvId, dbId };
}

/**
 * The local stores of `npm run dev` (wrangler dev --persist-to STATE_DIR keeps them under v3/), with
 * the same ids, so the records land where the running Worker reads. Once they exist, with every
 * migration applied, as SQLite files (scripts/lib/local-stores.mjs: no workerd to start); before,
 * through Miniflare, which creates them, and wrangler, which applies the migrations as dev does.
 */
async function localStores() {
  const ids = bindingIds();
  const v3 = path.join(STATE_DIR, "v3");
  const direct = await openLocalStores(v3, ids);
  if (direct && !(await migrationsMissing(unlocked(direct.db)))) return lockTolerant(direct);
  await direct?.close();
  // Miniflare is a large bundle: V8's compiled code, cached on disk, halves its import on later runs.
  enableCompileCache?.();
  const { Miniflare } = await import("miniflare");
  const open = () => new Miniflare(localStoresMiniflare(v3, ids));
  let mf = open();
  const db = unlocked(await mf.getD1Database("CONTROL_DB"));
  if (await migrationsMissing(db)) {
    // wrangler applies them as `npm run dev` does (and records them), so neither applies them twice.
    await mf.dispose();
    wrangler([
      "d1",
      "migrations",
      "apply",
      "CONTROL_DB",
      "--local",
      "--persist-to",
      STATE_DIR,
      ...(values.env ? ["--env", values.env] : []),
    ]);
    mf = open();
  }
  return lockTolerant({
    kv: await mf.getKVNamespace("QR_KV"),
    db: await mf.getD1Database("CONTROL_DB"),
    close: () => mf.dispose(),
  });
}

/** Stores whose every operation waits out another process's lock. */
function lockTolerant({ kv, db, close }) {
  return {
    kv: {
      put: (...args) => untilUnlocked("kv put", () => kv.put(...args)),
      list: (...args) => untilUnlocked("kv list", () => kv.list(...args)),
      delete: (key) => untilUnlocked("kv delete", () => kv.delete(key)),
    },
    db: unlocked(db),
    close,
  };
}

/**
 * A running `npm run dev` holds the same SQLite files open, so a write can find one locked for a
 * moment (workerd logs SQLITE_BUSY and D1 answers "internal error", local KV answers 500). SQLite
 * refuses such a statement whole, so running it again is safe.
 */
const LOCKED_LOCALLY = new RegExp(`${LOCKED.source}|D1_ERROR: .*internal error`);
async function untilUnlocked(what, op) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await op();
    } catch (err) {
      if (attempt === LOCKED_RETRIES || !LOCKED_LOCALLY.test(String(err?.message ?? err))) throw err;
      process.stderr.write(`${what}: ${LOCKED_NOTICE}; trying again (${attempt + 1} of ${LOCKED_RETRIES})\n`);
      await new Promise((r) => setTimeout(r, 100 * 2 ** Math.min(attempt, 4))); // 0.1-1.6 s
    }
  }
}

/** A D1 binding whose statements wait out a lock. */
function unlocked(db) {
  const wrap = (statement) => ({
    bind: (...params) => wrap(statement.bind(...params)),
    run: () => untilUnlocked("d1", () => statement.run()),
    all: () => untilUnlocked("d1", () => statement.all()),
    first: () => untilUnlocked("d1", () => statement.first()),
  });
  return { prepare: (sql) => wrap(db.prepare(sql)) };
}

async function migrationsMissing(db) {
  const wanted = readdirSync(path.join(root, "migrations")).filter((f) => f.endsWith(".sql"));
  try {
    const { results } = await db.prepare("SELECT name FROM d1_migrations").all();
    const applied = new Set(results.map((r) => r.name));
    return wanted.some((f) => !applied.has(f));
  } catch (err) {
    if (/no such table/.test(String(err?.message ?? err))) return true; // nothing applied yet
    throw err;
  }
}

/** The account's stores through wrangler, behind the same binding shapes the Worker uses. */
function remoteStores() {
  const where = ["--remote", ...(values.env ? ["--env", values.env] : [])];
  const literal = (v) =>
    v === null || v === undefined ? "NULL" : typeof v === "number" ? String(v) : `'${String(v).replaceAll("'", "''")}'`;
  // `wrangler d1 execute` takes no parameters: ?N are written in as SQL literals.
  const execute = (statement, params) =>
    JSON.parse(
      wrangler([
        "d1",
        "execute",
        "CONTROL_DB",
        "--json",
        "--command",
        statement.replace(/\?(\d+)/g, (_, n) => literal(params[Number(n) - 1])),
        ...where,
      ]),
    )[0];
  const db = {
    prepare: (statement) => {
      const bound = (params) => ({
        run: async () => execute(statement, params),
        all: async () => ({ results: execute(statement, params).results }),
        first: async () => execute(statement, params).results[0] ?? null,
      });
      return { ...bound([]), bind: (...params) => bound(params) };
    },
  };
  const kvArgs = (args) => ["kv", ...args, "--binding", "QR_KV", ...where];
  const kv = {
    put: async (key, value, { metadata, expiration }) =>
      wrangler(
        kvArgs([
          "key",
          "put",
          key,
          value,
          "--metadata",
          JSON.stringify(metadata),
          ...(expiration ? ["--expiration", String(expiration)] : []),
        ]),
      ),
    list: async ({ prefix }) => ({
      keys: JSON.parse(wrangler(kvArgs(["key", "list", "--prefix", prefix]))),
      list_complete: true,
    }),
    delete: async (key) => wrangler(kvArgs(["key", "delete", key])),
  };
  return { kv, db, close: async () => {} };
}

/** The KV key hashes of the token with this id (the key holds the token's full SHA-256). */
async function kvHashesOf(kv, id) {
  const page = await kv.list({ prefix: `${KV_PREFIXES.token}${id}` });
  return page.keys.map((k) => k.name.slice(KV_PREFIXES.token.length)).filter((hash) => tokenIdOf(hash) === id);
}

function checkedCreate() {
  const scopes = values.admin ? ["admin"] : (values.scope?.split(",").map((x) => x.trim()) ?? DEFAULT_APP_SCOPES);
  if (scopes.length === 0 || scopes.some((x) => !SCOPES.includes(x))) fail(`--scope takes ${SCOPES.join(", ")}`);
  const admin = scopes.includes("admin");
  if (!admin && (!values.app || !RP_APP_ID.test(values.app))) {
    fail(`--app <rpAppId> is required for an application token (${RP_APP_ID_RULE})`);
  }
  if (values.label.length > 128) fail("--label is at most 128 characters");
  let expiresInDays;
  if (values["expires-days"] !== undefined) {
    expiresInDays = Number(values["expires-days"]);
    if (!Number.isInteger(expiresInDays) || expiresInDays < 1 || expiresInDays > 3650) {
      fail("--expires-days is a whole number from 1 to 3650");
    }
  }
  return { rpAppId: admin ? null : values.app, scopes, label: values.label, expiresInDays };
}

/**
 * mintToken, whose registry row is removed again when the KV record could not follow (a store locked
 * past every retry): no token is listed that was never shown.
 */
async function mintedOrUndone(stores, fields) {
  let id = null;
  const db = {
    prepare: (sql) => {
      const statement = stores.db.prepare(sql);
      if (sql !== INSERT_TOKEN) return statement;
      return {
        ...statement,
        bind: (...params) => {
          id = params[0];
          return statement.bind(...params);
        },
      };
    },
  };
  try {
    return await mintToken(stores.kv, db, fields);
  } catch (err) {
    if (id) await stores.db.prepare("DELETE FROM api_tokens WHERE id = ?1").bind(id).run();
    console.error(`no token was created: ${String(err?.message ?? err)}`);
    process.exit(1);
  }
}

if (!["create", "list", "revoke"].includes(command))
  fail(command ? `unknown command ${command}` : "a command is required");
if (command === "revoke") {
  if (!arg || arg.startsWith("qrf_")) fail("revoke takes the token's id (from list), never the token itself");
  if (!/^[0-9a-f]{16}$/.test(arg)) fail("a token id is 16 hexadecimal characters, as list shows");
}
const fields = command === "create" ? checkedCreate() : null;
// A reader that stops early (`| head`) is not an error.
process.stdout.on("error", (err) => {
  if (err.code !== "EPIPE") throw err;
});
const stores = values.remote ? remoteStores() : await localStores();
try {
  if (fields) {
    const { token, record } = await mintedOrUndone(stores, fields);
    console.error(
      `created token ${record.id} (${record.scopes.join(",")}) for ${record.rpAppId ?? "every application"}; it is shown once, below:`,
    );
    console.log(token);
  } else if (command === "list") {
    // As GET /cc/api/tokens: the registry's live tokens.
    const now = Date.now();
    const { results } = await stores.db.prepare(`${SELECT_TOKENS} ORDER BY created_at DESC, id`).all();
    const listed = results
      .map(fromTokenRow)
      .filter((t) => t.revokedAt === null && (t.expiresAt === null || t.expiresAt > now));
    for (const t of listed) {
      const expires = t.expiresAt ? ` expires ${new Date(t.expiresAt).toISOString()}` : "";
      console.log(
        `${t.id}  ${t.rpAppId ?? "(admin)"}  ${t.scopes.join(",")}  ${new Date(t.createdAt).toISOString()}${expires}  ${t.label}`,
      );
    }
  } else {
    // As DELETE /cc/api/tokens/{id}: the registry decides (refused everywhere within 9 s), KV is cleaned.
    const row = await stores.db.prepare(SELECT_TOKEN).bind(arg).first();
    if (!row) {
      console.error(`no token has the id ${arg} (npm run token -- list shows them)`);
      process.exitCode = 1;
    } else {
      await stores.db
        .prepare(REVOKE_TOKEN)
        .bind(...tokenRow(fromTokenRow(row)), Date.now())
        .run();
      for (const hash of await kvHashesOf(stores.kv, arg)) await stores.kv.delete(`${KV_PREFIXES.token}${hash}`);
      console.log(`revoked ${arg}: refused everywhere within 9 seconds`);
    }
  }
} finally {
  await stores.close();
}
