#!/usr/bin/env node
// `node bench/ablate.mjs <variant tree> [hit|miss|create]`: this tree's service (A) against the same service
// built from another tree (B: a copy of this one with one change, its node_modules linked here), both
// through Miniflare's API as the bench runs them, five alternating load runs each; prints the median
// CPU per request of each and the per-round throughput ratios. How a part's cost is measured:
// switch it off in B (BENCHMARKS.md, "0.3.2").
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { buildWorkers, putToken, startService, stopAll } from "./lib/instances.mjs";
import { serviceRuns } from "./lib/runs.mjs";

const [variantTree, which = "hit"] = process.argv.slice(2);
if (!variantTree) throw new Error("usage: node bench/ablate.mjs <variant tree> [hit|miss|create]");
const variant = await import(path.resolve(variantTree, "bench/lib/instances.mjs"));
const A = await startService("A", buildWorkers(mkdtempSync(path.join(tmpdir(), "qrf-ablate-a-"))));
const B = await variant.startService("B", variant.buildWorkers(mkdtempSync(path.join(tmpdir(), "qrf-ablate-b-"))));
const runsOf = new Map([
  [A, serviceRuns(A, await putToken(A, "BenchApp", ["qr:create"]))],
  [B, serviceRuns(B, await variant.putToken(B, "BenchApp", ["qr:create"]))],
]);
/** One measured run of `which` (this tree's definition of the run, for both sides). */
const run = async (instance) => (await runsOf.get(instance)[which]())();

try {
  await run(A);
  await run(B); // warm both
  const a = [];
  const b = [];
  for (let round = 0; round < 5; round++) {
    if (round % 2) b.push(await run(B));
    a.push(await run(A));
    if (!(round % 2)) b.push(await run(B));
  }
  const median = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
  const [cpuA, cpuB] = [median(a.map((r) => r.cpuPerRequestMs)), median(b.map((r) => r.cpuPerRequestMs))];
  console.log(
    `${which}: CPU per request A ${cpuA.toFixed(2)} ms, B ${cpuB.toFixed(2)} ms (B / A ${(cpuB / cpuA).toFixed(3)}); throughput B / A by round: ${a.map((r, i) => (b[i].rps / r.rps).toFixed(3)).join(", ")}`,
  );
} finally {
  await stopAll();
  await variant.stopAll();
}
