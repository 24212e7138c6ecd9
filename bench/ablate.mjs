#!/usr/bin/env node
// `node bench/ablate.mjs <variant tree> [hit|miss|create]`: this tree's service (A) against the same
// service built from another tree (B: a copy of this one with one change, its node_modules linked
// here), both through Miniflare's API as the bench runs them, in interleaved slices
// (bench/lib/slices.mjs); prints B / A throughput with its 95 % interval and B / A CPU per request.
// How a part's cost is measured: switch it off in B. With this tree as B it is the A/A noise floor.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { buildWorkers, putToken, startService, stopAll } from "./lib/instances.mjs";
import { serviceSides } from "./lib/runs.mjs";
import { interleave } from "./lib/slices.mjs";

const [variantTree, which = "hit"] = process.argv.slice(2);
if (!variantTree) throw new Error("usage: node bench/ablate.mjs <variant tree> [hit|miss|create]");
const variant = await import(path.resolve(variantTree, "bench/lib/instances.mjs"));
try {
  const A = await startService("A", buildWorkers(mkdtempSync(path.join(tmpdir(), "qrf-ablate-a-"))));
  const B = await variant.startService("B", variant.buildWorkers(mkdtempSync(path.join(tmpdir(), "qrf-ablate-b-"))));
  const a = serviceSides(A, await putToken(A, "BenchApp", ["qr:create"]))[which];
  const b = serviceSides(B, await variant.putToken(B, "BenchApp", ["qr:create"]))[which];
  const m = await interleave(b, a);
  const f = (x) => x.toFixed(3);
  console.log(
    `${which}: throughput B / A ${f(m.ratio)} (95 % interval ${f(m.interval[0])}-${f(m.interval[1])}), CPU per request A ${f(m.b.cpuPerRequestMs)} ms, B ${f(m.a.cpuPerRequestMs)} ms (A / B ${f(m.cpuRatio)}); p99 A ${m.b.p99Ms} ms, B ${m.a.p99Ms} ms`,
  );
} finally {
  await stopAll();
  await variant.stopAll();
}
