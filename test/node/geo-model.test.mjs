// The geographic model's pure functions (bench/geo, issue #28): placement, where hinted objects land,
// the floor against the service, the busiest object and the cost per million fallbacks.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { auditRowsPerEvent, dollarsPerMillion, floorCalls, serviceCalls } from "../../bench/geo/cost.mjs";
import {
  busiestObjects,
  CALLS,
  geoLatency,
  INDEX_CHARS,
  landing,
  meanDraws,
  placement,
  rng,
  sampleRequest,
} from "../../bench/geo/model.mjs";
import { NO_OBJECTS, REGIONS, rttMs } from "../../bench/geo/regions.mjs";
import { root } from "../../scripts/wrangler.mjs";

test("the model places as the Worker does: every index character in exactly one region, 7 or 8 each", () => {
  const { byChar, byRegion } = placement();
  assert.deepEqual(Object.keys(byChar).sort(), [...INDEX_CHARS].sort());
  const all = REGIONS.flatMap((r) => byRegion[r]);
  assert.equal(all.length, 64);
  assert.equal(new Set(all).size, 64);
  for (const r of REGIONS) {
    assert.ok([7, 8].includes(byRegion[r].length), `${r} has 7 or 8 characters`);
    for (const c of byRegion[r]) assert.equal(byChar[c], r);
  }
});

test("sam, afr and me land where Cloudflare documents: the nearest region that hosts objects", () => {
  assert.equal(landing("sam"), "enam"); // the docs' own example
  for (const r of NO_OBJECTS) {
    const there = landing(r);
    assert.ok(!NO_OBJECTS.has(there));
    for (const other of REGIONS.filter((x) => !NO_OBJECTS.has(x))) assert.ok(rttMs(r, there) <= rttMs(r, other));
  }
  for (const r of REGIONS.filter((x) => !NO_OBJECTS.has(x))) assert.equal(landing(r), r);
});

test("round trips are symmetric and the floor is never above the service", () => {
  for (const a of REGIONS) for (const b of REGIONS) assert.equal(rttMs(a, b), rttMs(b, a));
  const regions = geoLatency({ samples: 2_000 });
  for (const r of REGIONS) {
    for (const kind of ["lookup", "create"]) {
      const f = regions[r][kind];
      assert.ok(f.floorP50Ms <= f.p50Ms, `${r} ${kind}: floor ${f.floorP50Ms} <= after ${f.p50Ms}`);
      assert.ok(f.floorP50Ms <= f.before.p50Ms, `${r} ${kind}: floor <= before`);
    }
  }
  // Same draws, same legs: one request's floor is below its service time.
  const [a, b] = [rng(7), rng(7)];
  for (let i = 0; i < 200; i++) {
    const home = REGIONS[i % REGIONS.length];
    const floor = sampleRequest(a, { design: "floor", kind: "lookup", home });
    assert.ok(floor > 0);
    assert.ok(Number.isFinite(sampleRequest(b, { design: "after", kind: "lookup", home })));
  }
});

test("a create draws 64 / k codes on average for a region of k characters", () => {
  assert.equal(meanDraws(64), 1);
  assert.equal(meanDraws(2), 32);
});

test("the busiest object: a tenant's traffic and a botnet's spread over the objects", () => {
  const busy = busiestObjects();
  assert.ok(busy.after.peak100.rps >= busy.before.peak100.byObject.claimShard);
  assert.ok(busy.after.attack10k.rps >= busy.after.peak100.rps);
  assert.equal(busy.inputs.passedGuessesPerSecond, 3333); // 20 a minute from each of 10,000 addresses
  // In attack mode a guess's one call goes to one of the 64 objects of the region it enters through.
  const perObject = busy.after.peak100.byObject.claimShard + 3333.3 / 64;
  assert.ok(Math.abs(busy.after.attack10k.byObject.claimShard - perObject) < 0.2);
});

test("the busiest object stays within 500 requests/s for every shape of a 10,000-address botnet", () => {
  // From 40 /24s (250 addresses each) to one address per /24: the ledgers and summary shards, and
  // the guesses that pass the per-network limit, change with the shape.
  for (const networks of [40, 100, 2_000, 5_000, 10_000]) {
    const busy = busiestObjects({ networks });
    assert.ok(busy.after.attack10k.rps <= 500, `${networks} networks: ${JSON.stringify(busy.after.attack10k)}`);
  }
});

test("the busiest-object model's constants are the Worker's", () => {
  const constant = (file, name) => {
    const source = readFileSync(path.join(root, file), "utf8");
    const match = new RegExp(`export const ${name} = ([\\d_]+);`).exec(source);
    assert.ok(match, `${name} in ${file}`);
    return Number(match[1].replaceAll("_", ""));
  };
  assert.equal(CALLS.keeperPerShardPerSecondAttack * constant("src/security/guess-gate.ts", "REFUSAL_REPORT_MS"), 1000);
  assert.equal(CALLS.keeperRecheckSpreadS * 1000, constant("src/security/guess-gate.ts", "ATTACK_RECHECK_SPREAD_MS"));
  assert.equal(CALLS.summaryShards, constant("src/security/client-ledger.ts", "SUMMARY_SHARDS"));
  assert.equal(CALLS.summaryHandOnSpreadS * 1000, constant("src/security/client-ledger.ts", "NETWORK_SPREAD_MS"));
});

test("cost: the floor's calls at the published prices, and the service's from counted calls", () => {
  const floor = dollarsPerMillion(floorCalls());
  // 2 requests 0.60, KV 10.50 (a read, a write, the lookup's delete), 2 object calls with a row each
  // ~2.30, 2 messages 2.40, 2 rows 2.00.
  assert.ok(Math.abs(floor.total - 17.8) < 0.1, String(floor.total));
  const counted = {
    perCreate: { "kv:put": 1, "do:CODE_CLAIMS": 1, "rows:CodeClaims": 1, "queue:messages": 1 },
    perLookup: { "kv:get": 1, "kv:delete": 1, "do:CODE_CLAIMS": 1, "rows:CodeClaims": 1, "queue:messages": 1 },
    rowsPerEvent: 1,
  };
  assert.equal(dollarsPerMillion(serviceCalls(counted)).total, floor.total);
  // A send timer keeps a 128 MB object billed: 2 events held 20 ms each is 0.005 GB-s, $0.0625 a million.
  const held = dollarsPerMillion(serviceCalls({ ...counted, heldMsPerEvent: 20 }));
  assert.ok(Math.abs(held.total - floor.total - 0.0625) < 0.002, String(held.total - floor.total));
  assert.equal(auditRowsPerEvent(path.join(root, "audit-consumer/migrations")), 3); // the row, two search indexes
});
