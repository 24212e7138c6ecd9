// The local KV namespace and D1 database of `npm run dev` opened as the SQLite files they are, with
// no workerd started: Miniflare keeps each in `<kind>/miniflare-<Object>/<id>.sqlite` under the
// state folder, named by its object id, and a KV value in `kv/<namespace>/blobs/<blob id>`.
// test/node/local-stores.test.mjs reads every write here back through the project's Miniflare, and
// the e2e (`npm run test:e2e`) authenticates with CLI tokens against `npm run dev`, which runs
// wrangler's own copy: a Miniflare that stores them differently fails one of them, not a user's token.
import { createHash, createHmac, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";

/** The id workerd gives the object named `name` of the class `uniqueKey` (Miniflare's file name). */
export function localObjectId(uniqueKey, name) {
  const key = createHash("sha256").update(uniqueKey).digest();
  const nameHmac = createHmac("sha256", key).update(name).digest().subarray(0, 16);
  const check = createHmac("sha256", key).update(nameHmac).digest().subarray(0, 16);
  return Buffer.concat([nameHmac, check]).toString("hex");
}

/** Where the stores of KV namespace `kvId` and D1 database `dbId` live under `v3`. */
export function localStoreFiles(v3, { kvId, dbId }) {
  const kvClass = "miniflare-KVNamespaceObject";
  const dbClass = "miniflare-D1DatabaseObject";
  return {
    kvFile: path.join(v3, "kv", kvClass, `${localObjectId(kvClass, kvId)}.sqlite`),
    kvBlobs: path.join(v3, "kv", kvId, "blobs"),
    dbFile: path.join(v3, "d1", dbClass, `${localObjectId(dbClass, dbId)}.sqlite`),
  };
}

/** Miniflare's options for the same two stores, as bindings QR_KV and CONTROL_DB (Miniflare creates them). */
export function localStoresMiniflare(v3, { kvId, dbId }) {
  return {
    modules: true,
    script: "export default {}",
    kvNamespaces: { QR_KV: kvId },
    d1Databases: { CONTROL_DB: dbId },
    kvPersist: path.join(v3, "kv"),
    d1Persist: path.join(v3, "d1"),
  };
}

/**
 * The two stores behind the binding shapes the Worker uses (KV put/list/delete, D1 prepare/bind),
 * or null when either has never been created (`npm run dev` or Miniflare creates them). Another
 * process writing a file makes a statement throw "database is locked" (SQLite refuses it whole).
 */
export async function openLocalStores(v3, ids) {
  const files = localStoreFiles(v3, ids);
  if (!existsSync(files.kvFile) || !existsSync(files.dbFile)) return null;
  const { DatabaseSync } = await import("node:sqlite");
  const kvDb = new DatabaseSync(files.kvFile);
  // A KV file Miniflare has not yet set up: Miniflare's path creates its table.
  if (!kvDb.prepare("SELECT 1 FROM sqlite_master WHERE name = '_mf_entries'").get()) {
    kvDb.close();
    return null;
  }
  const d1 = new DatabaseSync(files.dbFile);
  const kv = {
    async put(key, value, { metadata, expiration } = {}) {
      // As Miniflare: the value's blob first, then its row; a replaced value's blob is removed.
      mkdirSync(files.kvBlobs, { recursive: true });
      const stamp = Buffer.alloc(8);
      stamp.writeBigInt64BE(BigInt(Date.now()));
      const blobId = Buffer.concat([randomBytes(32), stamp]).toString("hex");
      const blob = path.join(files.kvBlobs, blobId);
      writeFileSync(`${blob}.tmp`, value);
      renameSync(`${blob}.tmp`, blob);
      let old;
      try {
        old = kvDb.prepare("SELECT blob_id FROM _mf_entries WHERE key = ?").get(key);
        kvDb
          .prepare("INSERT OR REPLACE INTO _mf_entries (key, blob_id, expiration, metadata) VALUES (?, ?, ?, ?)")
          .run(
            key,
            blobId,
            expiration === undefined ? null : expiration * 1000,
            metadata === undefined ? null : JSON.stringify(metadata),
          );
      } catch (err) {
        rmSync(blob, { force: true });
        throw err;
      }
      if (old) rmSync(path.join(files.kvBlobs, old.blob_id), { force: true });
    },
    async list({ prefix = "" }) {
      const rows = kvDb
        .prepare(
          `SELECT key FROM _mf_entries WHERE substr(key, 1, length(?1)) = ?1
           AND (expiration IS NULL OR expiration >= ?2) ORDER BY key`,
        )
        .all(prefix, Date.now());
      return { keys: rows.map((r) => ({ name: r.key })), list_complete: true };
    },
    async delete(key) {
      const row = kvDb.prepare("DELETE FROM _mf_entries WHERE key = ? RETURNING blob_id").get(key);
      if (row) rmSync(path.join(files.kvBlobs, row.blob_id), { force: true });
    },
  };
  const db = {
    prepare(sql) {
      const bound = (params) => ({
        run: async () => d1.prepare(sql).run(...params),
        all: async () => ({ results: d1.prepare(sql).all(...params) }),
        first: async () => d1.prepare(sql).get(...params) ?? null,
      });
      return { ...bound([]), bind: (...params) => bound(params) };
    },
  };
  return {
    kv,
    db,
    close: async () => {
      kvDb.close();
      d1.close();
    },
  };
}
