// What the bench measures. Each scenario takes the running instances and records its budgets.
import path from "node:path";
import { root, wrangler } from "../../scripts/wrangler.mjs";
import { budget } from "./budgets.mjs";
import { createCodes, jsonHeaders } from "./load.mjs";
import { size } from "./mode.mjs";
import { bareSides, LOOKUP, MISS_BODY, referenceSides, repeatedSide, serviceSides } from "./runs.mjs";
import { interleave, joinDraws, swapped } from "./slices.mjs";

const log = (...a) => console.log(...a);

/** The references answer with the service's response headers (bench/baseline/index.ts): checked. */
export async function checkReferenceHeaders(service, reference) {
  const names = async (url) => {
    const res = await fetch(url, { method: "POST", headers: jsonHeaders, body: MISS_BODY });
    await res.arrayBuffer();
    return [...res.headers.keys()]
      .filter((h) => !["content-length", "date"].includes(h))
      .sort()
      .join(", ");
  };
  const ours = await names(`${service.url}${LOOKUP}`);
  const theirs = await names(`${reference.url}/lookup-miss-calls`);
  if (ours !== theirs)
    throw new Error(`the reference answers with ${theirs}, the service with ${ours}: update bench/baseline`);
}

/** Slices of each context figure (printed, not budgeted): none in the full run, one in the quick run so they keep working. */
const CONTEXT_SLICES = size("BENCH_CONTEXT_SLICES", 0, 1);
const perRequest = (v) => (v === null ? "n/a" : `${v.toFixed(3)} ms`);

/**
 * Draws of the throughput pairs. Each draw runs on a fresh pair of processes (bench/run.mjs), with
 * the pairs' slices split between the draws: the same code's CPU per request moves by several
 * percent between two workerd processes for a whole run (the A/A rows, BENCHMARKS.md), which
 * slices cannot average out and draws do. The draws alternate which side starts and goes first
 * (the A/A runs put the first side about 2 % ahead: BENCHMARKS.md), so an even count cancels it.
 */
export const DRAWS = size("BENCH_DRAWS", 4, 1);

const PAIRS = [
  ["hit", "lookupHit", "lookup hit"],
  ["miss", "lookupMiss", "lookup miss"],
  ["create", "create", "create with fallback code"],
];

/**
 * One draw of the throughput pairs: each wanted pair, the service against the reference that does
 * what the spec requires of that answer, in `slices` interleaved slices (bench/lib/slices.mjs). With
 * `withContext`, each pair's two context figures follow, each interleaved with the reference: the
 * same reference with the binding calls only (no crypto, CSPRNG or payload), and a bare one-call route.
 * With `referenceFirst` the reference goes first in every pair (bench/run.mjs alternates it by draw).
 */
export async function throughputDraw({ service, reference, token }, wanted, slices, withContext, referenceFirst) {
  const ours = serviceSides(service, token);
  const theirs = referenceSides(reference, token);
  const callsOnly = referenceSides(reference, token, "?calls-only");
  const bare = bareSides(reference, token);
  const out = {};
  for (const [key, result, name] of PAIRS) {
    if (!wanted(key)) continue;
    process.stderr.write(`  [${name}]\n`);
    const m = referenceFirst
      ? swapped(await interleave(theirs[key], ours[key], { slices }))
      : await interleave(ours[key], theirs[key], { slices });
    const context = {};
    if (withContext && CONTEXT_SLICES > 0) {
      for (const [label, side] of [
        ["reference with the binding calls only", callsOnly[key]],
        ["bare one-call Worker", bare[key]],
      ])
        context[label] = await interleave(theirs[key], side, { slices: CONTEXT_SLICES });
    }
    out[result] = { m, context };
  }
  return out;
}

/** The throughput pairs' figures and budgets (service / reference >= `minRatio`), over all draws. */
export function reportPairs(draws, minRatio = 0.9) {
  const out = {};
  for (const [, result, name] of PAIRS) {
    const parts = draws.map((d) => d[result]).filter(Boolean);
    if (parts.length === 0) continue;
    const m = joinDraws(parts.map((p) => p.m));
    const shown = {};
    for (const [label, c] of Object.entries(parts.at(-1).context))
      shown[label] = { rps: c.b.rps, serviceOverIt: m.ratio * c.ratio };
    const [lo, hi] = m.interval;
    log(`\n${name}`);
    for (const [who, side] of [
      ["service  ", m.a],
      ["reference", m.b],
    ]) {
      log(
        `  ${who}: ${side.rps.toFixed(0)} req/s, p50 ${side.p50Ms} ms, p99 ${side.p99Ms} ms, CPU ${perRequest(side.cpuPerRequestMs)}/request (${side.requests} requests)`,
      );
    }
    log(
      `  ${m.slices} slices of ${m.size} per side in ${m.draws.length} draws (each draw's ratio: ${m.draws.map((r) => r.toFixed(3)).join(", ")}); throughput ratio 95 % interval ${lo.toFixed(3)}-${hi.toFixed(3)}; CPU per request reference / service ${m.cpuRatio?.toFixed(3) ?? "n/a"}`,
    );
    for (const [label, run] of Object.entries(shown)) {
      log(`  ${label} (context): ${run.rps.toFixed(0)} req/s; service / it ${run.serviceOverIt.toFixed(3)}`);
    }
    budget(
      `${name}: service / reference throughput (${m.slices} interleaved slices, ${m.draws.length} draws)`,
      m.ratio.toFixed(3),
      `>= ${minRatio}`,
      m.ratio >= minRatio,
    );
    out[result] = {
      service: m.a,
      reference: m.b,
      ratio: m.ratio,
      interval: m.interval,
      cpuRatio: m.cpuRatio,
      draws: m.draws,
      context: shown,
    };
  }
  return out;
}

/** Slices of each scale figure's comparison (mean latency, 4 connections: a moderate load). */
const SCALE_SLICES = size("BENCH_SCALE_SLICES", 20, 2);

/** Fills the pending twin's KV with `fill` sealed-size entries (2,000 a request). */
export async function seedPending(pendingTwin, fill) {
  for (let done = 0; done < fill; done += 2000) {
    const res = await fetch(`${pendingTwin.url}/__bench/seed-pending?count=${Math.min(2000, fill - done)}`, {
      method: "POST",
    });
    if (!res.ok) throw new Error(`seeding failed: ${res.status} ${await res.text()}`);
    await res.arrayBuffer();
  }
}

/** Lookup latency with the seeded twin's pending entries against the service as started (10 real codes), in interleaved slices. */
export async function pendingScale({ service, pendingTwin, token }, fill) {
  log("\nlookup latency vs pending codes");
  await createCodes(service, token, 10);
  const miss = { path: LOOKUP, headers: jsonHeaders, body: '{"activationCode":"yyyyyy"}', status: 400 };
  const m = await interleave(
    repeatedSide(pendingTwin, `${fill} pending`, miss),
    repeatedSide(service, "10 pending", miss),
    {
      slices: SCALE_SLICES,
      size: 100,
      connections: 4,
    },
  );
  const ratio = m.a.meanMs / m.b.meanMs;
  log(`  10 pending: mean ${m.b.meanMs.toFixed(2)} ms; ${fill} pending: mean ${m.a.meanMs.toFixed(2)} ms`);
  budget(`lookup mean latency with ${fill} pending / with 10`, ratio.toFixed(3), "<= 1.10", ratio <= 1.1);
  return { few: m.b, many: m.a, ratio };
}

const W0 = 1_000_000_000_000; // a window far from real traffic: [W0, W0 + 60 s)

/**
 * `count` events of the real size, generated inside SQLite (one statement, no 1M-row file). Their ids
 * are UUIDv7s of their event time, as the Workers make them (common/audit-contract.ts, newEventId).
 */
function insertEvents(db, count, fromMs, spanMs, rpAppId) {
  return db
    .prepare(
      `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${count - 1}),
    e(i, t, h, r) AS (SELECT i, ${fromMs} + i * ${spanMs} / ${count}, printf('%012x', ${fromMs} + i * ${spanMs} / ${count}),
      lower(hex(randomblob(9))) FROM n)
  INSERT INTO audit_events (id, eventName, rpAppId, eventTimeInUTC, loggedTimeInUTC, isSuccessful, errorCode, body)
  SELECT substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-7' || substr(r, 1, 3) || '-' || substr('89ab', 1 + abs(random() % 4), 1)
      || substr(r, 4, 3) || '-' || substr(r, 7, 12),
    'QR_FALLBACK_PAYLOAD_RETRIEVED', '${rpAppId}', t, t + 5, 0, 'QR_FALLBACK_NOT_FOUND',
    json_object('id', 'bench-' || i, 'eventName', 'QR_FALLBACK_PAYLOAD_RETRIEVED', 'message', 'QR fallback lookup failed: no pending payload for the code',
      'subName', 'device/pendingqr', 'eventTimeInUTC', ${fromMs} + i, 'tenantId', 'bench', 'remoteIP', '203.0.113.0',
      'userAgent', 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15', 'traceId', lower(hex(randomblob(16))),
      'rpAppId', '${rpAppId}', 'isSuccessful', json('false'), 'errorCode', 'QR_FALLBACK_NOT_FOUND', 'additionalDetails', json('{"extras":{}}'))
  FROM e`,
    )
    .run();
}

/** The trail twin gets `trail` events outside the searched window; both sides get the window's 1,000. */
export async function fillTrail({ service, trailTwin }, trail) {
  await insertEvents(trailTwin.auditDb, trail, W0 + 3_600_000, trail * 10, "BenchApp");
  for (const instance of [service, trailTwin]) await insertEvents(instance.auditDb, 1000, W0, 60_000, "BenchApp");
}

/** One fixed window of 1,000 events, searched in a small trail and in one with 1M more events (fillTrail). */
export async function searchScale({ service, trailTwin, adminToken }, trail) {
  log("\naudit search page time vs trail size");
  const out = {};
  for (const [which, page] of [
    ["first", 1],
    ["deep", 10],
  ]) {
    const request = {
      method: "GET",
      path: `/cc/api/versioned/audit/search?startTSUTC=${W0}&endTSUTC=${W0 + 60_000}&pageSize=100&pageNumber=${page}`,
      headers: { authorization: `Bearer ${adminToken}` },
      status: 200,
    };
    const m = await interleave(
      repeatedSide(trailTwin, "large trail", request),
      repeatedSide(service, "small trail", request),
      {
        slices: SCALE_SLICES,
        size: 25,
        connections: 4,
      },
    );
    const ratio = m.a.meanMs / m.b.meanMs;
    log(
      `  ${which} page: small trail mean ${m.b.meanMs.toFixed(2)} ms; with ${trail} more events mean ${m.a.meanMs.toFixed(2)} ms`,
    );
    budget(
      `search ${which} page mean latency, ${trail} / 1k events in the trail`,
      ratio.toFixed(3),
      "<= 1.5",
      ratio <= 1.5,
    );
    out[which] = { small: m.b, large: m.a, ratio };
  }
  return out;
}

const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];

/**
 * The consumer's write: one batched D1 statement per queue batch against one insert per message.
 * The batched side writes 20,000 events a trial (200 batches of 100), the one-by-one side 2,000,
 * so each trial of either takes about a second; five trials each, alternating, on a trail that
 * starts empty (bench/run.mjs gives it a fresh reference), each side's median compared. Shorter
 * batched trials (10,000 events) and best of three, on the trail the pairs had filled, put the
 * figure at 9.8-13.2 between runs, around its budget of 10; best of five let one fast one-by-one
 * trial set the figure (0.4.0: 11.2, the other four trials 1,509-1,693 against 2,375 events/s).
 */
export async function consumerWrites({ reference }) {
  log("\naudit consumer writes");
  const run = async (mode, batches) =>
    (await (await fetch(`${reference.url}/consumer-writes?mode=${mode}&batches=${batches}&batchSize=100`)).json())
      .eventsPerSecond;
  const batched = [];
  const single = [];
  for (let i = 0; i < 5; i++) {
    if (i % 2) single.push(await run("single", 20));
    batched.push(await run("batch", 200));
    if (!(i % 2)) single.push(await run("single", 20));
  }
  const [b, s] = [median(batched), median(single)];
  const all = (xs) => xs.map((x) => x.toFixed(0)).join(", ");
  log(
    `  batched: ${b.toFixed(0)} events/s (trials ${all(batched)}); one insert per message: ${s.toFixed(0)} events/s (${all(single)})`,
  );
  budget("consumer batched / one-by-one events/s", (b / s).toFixed(2), ">= 10", b / s >= 10);
  return { batched: b, single: s };
}

export function bundleSize(workdir) {
  const dry = wrangler([
    "deploy",
    "--dry-run",
    "-c",
    path.join(root, "wrangler.toml"),
    "--outdir",
    path.join(workdir, "dry-run"),
  ]);
  const gzip = Number(dry.match(/gzip: ([\d.]+) KiB/)?.[1]);
  log("\nbundle");
  budget("main Worker upload, gzip KiB", gzip, "<= 64", gzip <= 64);
  return { gzipKiB: gzip };
}
