// The trail's migrations (audit-consumer/migrations) in SQLite: 0004 keeps every row of a trail made
// by 0001-0003, keys it by id (a redelivered id still writes nothing) and leaves two indexes.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { test } from "node:test";
import { INSERT_EVENTS } from "../../common/audit-contract.ts";
import { root } from "../../scripts/wrangler.mjs";

const dir = path.join(root, "audit-consumer/migrations");
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".sql"))
  .sort();
const migrate = (db, which) => {
  for (const f of files.filter(which)) db.exec(readFileSync(path.join(dir, f), "utf8"));
};

test("0004 keeps a 0.7 trail's rows and keys it by id, with the two search indexes only", () => {
  const db = new DatabaseSync(":memory:");
  migrate(db, (f) => f < "0004");
  const insert = db.prepare(
    "INSERT INTO audit_events (id, eventName, rpAppId, eventTimeInUTC, loggedTimeInUTC, isSuccessful, errorCode, body) VALUES (?, 'E', ?, ?, ?, 1, NULL, ?)",
  );
  for (let i = 0; i < 50; i++) {
    const id = crypto.randomUUID();
    insert.run(id, i % 5 ? `App${i % 3}` : "QRFallbackSecurity", 1000 + i, 1005 + (i % 7), JSON.stringify({ id }));
  }
  const all = "SELECT * FROM audit_events ORDER BY id";
  const before = db.prepare(all).all();
  migrate(db, (f) => f >= "0004");
  assert.deepEqual(db.prepare(all).all(), before);
  const indexes = db.prepare("SELECT name, origin FROM pragma_index_list('audit_events') ORDER BY name").all();
  assert.deepEqual(
    indexes.map((i) => `${i.name}:${i.origin}`),
    ["audit_events_by_app_logged:c", "audit_events_by_logged:c", "sqlite_autoindex_audit_events_1:pk"],
  );
  const redelivered = { ...JSON.parse(before[0].body), eventName: "E2", eventTimeInUTC: 1, isSuccessful: true };
  db.prepare(INSERT_EVENTS).run(JSON.stringify([redelivered, redelivered]));
  assert.deepEqual(db.prepare(all).all(), before);
  db.close();
});
