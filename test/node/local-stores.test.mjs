// `npm run token` writes the local stores as SQLite files (scripts/lib/local-stores.mjs). Each write
// is read back through Miniflare's own KV and D1 bindings, in the files Miniflare created, with
// Miniflare running meanwhile as `npm run dev` may: a Miniflare that names or lays out its stores
// differently fails here (dev's own copy, wrangler's, is checked by the e2e's CLI tokens). Run by
// `npm test` (node --test).
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, before, test } from "node:test";
import { Miniflare } from "miniflare";
import { localStoreFiles, localStoresMiniflare, openLocalStores } from "../../scripts/lib/local-stores.mjs";

const v3 = mkdtempSync(path.join(tmpdir(), "qrf-local-stores-"));
const ids = { kvId: "0123456789abcdef0123456789abcdef", dbId: "00000000-0000-0000-0000-0000000000aa" };
/** @type {Miniflare} */
let mf;

before(async () => {
  mf = new Miniflare(localStoresMiniflare(v3, ids));
  await (await mf.getKVNamespace("QR_KV")).put("created-by", "miniflare");
  await (await mf.getD1Database("CONTROL_DB")).exec("CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER)");
});
after(async () => {
  await mf.dispose();
  rmSync(v3, { recursive: true, force: true });
});

test("the files are where Miniflare keeps these ids; none yet for others", async () => {
  const files = localStoreFiles(v3, ids);
  for (const file of [files.kvFile, files.dbFile]) assert.ok(existsSync(file), file);
  assert.equal(await openLocalStores(v3, { kvId: "f".repeat(32), dbId: ids.dbId }), null);
  // A KV file without Miniflare's table yet (created, not set up): Miniflare's path, not this one.
  const bare = { kvId: "e".repeat(32), dbId: ids.dbId };
  mkdirSync(path.dirname(localStoreFiles(v3, bare).kvFile), { recursive: true });
  new DatabaseSync(localStoreFiles(v3, bare).kvFile).close();
  assert.equal(await openLocalStores(v3, bare), null);
});

test("a KV value, its metadata and expiry, written as files, read by a running Miniflare", async () => {
  const stores = await openLocalStores(v3, ids);
  const expiration = Math.floor(Date.now() / 1000) + 3600;
  await stores.kv.put("token:v1:abc", '{"a":1}', { metadata: { id: "abc" }, expiration });
  await stores.kv.put("token:v1:abd", "second");
  await stores.kv.put("token:v1:abd", "replaced");
  const kv = await mf.getKVNamespace("QR_KV");
  const read = await kv.getWithMetadata("token:v1:abc");
  assert.deepEqual([read.value, read.metadata], ['{"a":1}', { id: "abc" }]);
  assert.equal(await kv.get("token:v1:abd"), "replaced");
  const listed = await kv.list({ prefix: "token:v1:" });
  assert.deepEqual(
    listed.keys.map((k) => [k.name, k.expiration]),
    [
      ["token:v1:abc", expiration],
      ["token:v1:abd", undefined],
    ],
  );
  assert.deepEqual(
    (await stores.kv.list({ prefix: "token:v1:ab" })).keys.map((k) => k.name),
    ["token:v1:abc", "token:v1:abd"],
  );
  // One blob per live value: the replaced value's is gone.
  assert.equal(readdirSync(localStoreFiles(v3, ids).kvBlobs).length, 3);
  await stores.kv.delete("token:v1:abd");
  assert.equal(await kv.get("token:v1:abd"), null);
  assert.equal(await kv.get("created-by"), "miniflare");
  await stores.close();
});

test("D1 statements with numbered parameters, read by a running Miniflare", async () => {
  const stores = await openLocalStores(v3, ids);
  await stores.db.prepare("INSERT INTO t (id, n) VALUES (?1, ?2)").bind("x", 7).run();
  assert.deepEqual(
    { ...(await stores.db.prepare("SELECT id, n FROM t WHERE id = ?1").bind("x").first()) },
    {
      id: "x",
      n: 7,
    },
  );
  assert.equal(await stores.db.prepare("SELECT 1 FROM t WHERE id = ?1").bind("y").first(), null);
  const { results } = await (await mf.getD1Database("CONTROL_DB")).prepare("SELECT id, n FROM t").all();
  assert.deepEqual(results, [{ id: "x", n: 7 }]);
  await stores.close();
});
