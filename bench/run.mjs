#!/usr/bin/env node
// `npm run bench`: the Workers' deploy bundles run through Miniflare's API (bench/lib/instances.mjs),
// every figure a ratio against a reference measured in the same run (bench/lib/scenarios.mjs): the
// throughput pairs and the scale figures alike in interleaved slices (bench/lib/slices.mjs), then the
// edge latency model (bench/lib/edge.mjs), each with a budget (bench/lib/budgets.mjs). Exits 1 when a budget is missed.
// BENCH_ONLY=hit,miss,create,pending,search,consumer,edge,geo runs a part (edge includes geo).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Progress } from "../scripts/lib/progress.mjs";
import { geoReport } from "./geo/report.mjs";
import { previousResults, writeResults } from "./lib/budgets.mjs";
import { edgeModel } from "./lib/edge.mjs";
import { buildWorkers, putToken, startReference, startService, stopAll } from "./lib/instances.mjs";
import { CONNECTIONS, jsonHeaders } from "./lib/load.mjs";
import { QUICK, size } from "./lib/mode.mjs";
import { LOOKUP } from "./lib/runs.mjs";
import {
  bundleSize,
  checkReferenceHeaders,
  consumerWrites,
  DRAWS,
  fillTrail,
  pendingScale,
  reportPairs,
  searchScale,
  seedPending,
  throughputDraw,
} from "./lib/scenarios.mjs";
import { client, SLICE_SIZE, SLICES } from "./lib/slices.mjs";

const ONLY = process.env.BENCH_ONLY?.split(",") ?? null;
const wanted = (name) => !ONLY || ONLY.includes(name);
/** The mean of the numbers given (0 when none): a fallback's CPU is one create's and one lookup's. */
const mean = (xs) => {
  const ok = xs.filter((x) => typeof x === "number");
  return ok.length ? ok.reduce((a, b) => a + b, 0) / ok.length : 0;
};
const FILL = size("BENCH_PENDING", 100_000, 500);
const TRAIL = size("BENCH_TRAIL", 1_000_000, 2_000);
const workdir = mkdtempSync(path.join(tmpdir(), "qrf-bench-"));

const results = {};
const throughput = ["hit", "miss", "create", "pending", "search", "consumer"].some(wanted);
const pairs = ["hit", "miss", "create"].some(wanted);
// What runs, in order, with the seconds each took last time (this size's results file) or a default.
const lastLaps = previousResults().laps ?? {};
const steps = [
  [throughput, "setup", 25, 15],
  [wanted("pending"), "pending codes", 50, 10],
  [wanted("search"), "audit search", 110, 15],
  ...Array.from({ length: DRAWS }, (_, d) => [pairs, `throughput draw ${d + 1}/${DRAWS}`, 75, 40]),
  [wanted("consumer"), "consumer", 30, 10],
  [throughput, "bundle size", 10, 10],
  [wanted("edge"), "edge model", 85, 15],
  [wanted("edge") || wanted("geo"), "geo model and cost", 5, 5],
]
  .filter(([on]) => on)
  .map(([, key, full, quick]) => ({ key, expected: lastLaps[key] ?? (QUICK ? quick : full) }));
const progress = new Progress({ name: "bench", steps });
try {
  if (throughput) await throughputAndScale();
} finally {
  await stopAll();
  rmSync(workdir, { recursive: true, force: true });
}
// Last, with every other instance stopped: the model times single requests.
if (wanted("edge")) {
  progress.start("edge model");
  results.edgeModel = await edgeModel();
}
// The geographic model and the cost (pure, a few seconds), with the binding calls the edge model
// counted (this run's or the last one's) and the throughput pairs' CPU per request.
if (wanted("edge") || wanted("geo")) {
  progress.start("geo model and cost");
  const last = previousResults();
  const pairs = results.create ? results : last.results;
  const cpuOf = (side) => mean([pairs?.create?.[side]?.cpuPerRequestMs, pairs?.lookupHit?.[side]?.cpuPerRequestMs]);
  Object.assign(
    results,
    geoReport({
      edgeModel: results.edgeModel ?? last.edgeModel,
      cpu: { service: cpuOf("service") * 2, reference: cpuOf("reference") * 2 },
    }),
  );
}
results.laps = progress.end();
process.exit(writeResults(results).length ? 1 : 0);

/** Both sides warm (first requests compile and open storage), then the references checked to answer alike. */
async function warm(service, reference) {
  for (const [instance, path] of [
    [service, LOOKUP],
    [reference, "/lookup-miss-calls"],
  ]) {
    const warming = client(instance);
    await warming.run(
      Array.from({ length: 500 }, () => ({ path, headers: jsonHeaders, body: '{"activationCode":"warmup"}' })),
    );
    warming.close();
  }
  await checkReferenceHeaders(service, reference);
}

async function throughputAndScale() {
  progress.start("setup");
  const built = buildWorkers(workdir);
  await import("../scripts/vendor-assets.mjs");
  let service = await startService("service", built);
  let reference = await startReference(built);
  let token = await putToken(service, "BenchApp", ["qr:create", "audit:read"]);
  const adminToken = await putToken(service, null, ["admin"]);
  console.log(
    `qr-fallback bench, Miniflare API: every comparison in interleaved slices; throughput pairs ${SLICES} slices of ${SLICE_SIZE} requests per side in ${DRAWS} draws, ${CONNECTIONS} connections`,
  );
  await warm(service, reference);
  // Scale first, while the service is still small: each twin sees one growth only. The two twins
  // (separate processes) fill at once, before either is measured.
  if (wanted("pending") || wanted("search")) {
    progress.start(wanted("pending") ? "pending codes" : "audit search");
    const pendingTwin = wanted("pending") ? await startService("pending twin", built) : null;
    const trailTwin = wanted("search") ? await startService("trail twin", built) : null;
    if (pendingTwin) await putToken(pendingTwin, null, ["admin"]);
    if (trailTwin) await putToken(trailTwin, null, ["admin"], adminToken); // the same token on both sides
    await Promise.all([
      pendingTwin && seedPending(pendingTwin, FILL),
      trailTwin && fillTrail({ service, trailTwin }, TRAIL),
    ]);
    if (pendingTwin) {
      results.pendingLatency = await pendingScale({ service, pendingTwin, token }, FILL);
      await pendingTwin.mf.dispose();
    }
    if (trailTwin) {
      if (pendingTwin) progress.start("audit search");
      results.search = await searchScale({ service, trailTwin, adminToken }, TRAIL);
      await trailTwin.mf.dispose();
    }
  }
  if (["hit", "miss", "create"].some(wanted)) {
    // Each draw on a fresh pair of processes: both sides start alike (the first service ran the
    // scale figures), and what one workerd process differs from another for a whole run is
    // averaged over the draws (bench/lib/scenarios.mjs).
    const draws = [];
    for (let d = 0; d < DRAWS; d++) {
      progress.start(`throughput draw ${d + 1}/${DRAWS}`);
      await Promise.all([service.mf.dispose(), reference.mf.dispose()]);
      // Odd draws start the reference first and run it first in every pair (scenarios.mjs, DRAWS).
      const referenceFirst = d % 2 === 1;
      if (referenceFirst) reference = await startReference(built);
      service = await startService(`service, draw ${d + 1}`, built);
      if (!referenceFirst) reference = await startReference(built);
      token = await putToken(service, "BenchApp", ["qr:create", "audit:read"]);
      await warm(service, reference);
      const slices = Math.round(SLICES / DRAWS);
      draws.push(await throughputDraw({ service, reference, token }, wanted, slices, d === DRAWS - 1, referenceFirst));
    }
    Object.assign(results, reportPairs(draws));
  }
  // On a fresh reference: its trail starts empty whatever ran before (the pairs leave tens of
  // thousands of events in theirs, and the figure falls with the table's size: BENCHMARKS.md, 0.3.6).
  if (wanted("consumer")) {
    progress.start("consumer");
    results.consumer = await consumerWrites({ reference: await startReference(built) });
  }
  progress.start("bundle size");
  results.bundle = bundleSize(workdir);
}
