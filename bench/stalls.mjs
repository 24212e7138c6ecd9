#!/usr/bin/env node
// `node bench/stalls.mjs hit|miss|create [reference]`: one straight run (BENCH_REQUESTS, 6,000 by
// default, over the bench's 10 connections) of the service's side, or the reference's, through
// Miniflare's API as the bench runs them; prints how much of the connections' time went to answers
// slower than STALL_MS (100 ms), overall and per 1,000 requests, and how many other answers
// completed while a slow one was under way (the process does not stop). Those requests wait before
// their handler starts, queued unfairly on kept-alive connections of a saturated loop: they cost no
// throughput (bench/workerd-waits.mjs; BENCHMARKS.md, "What a hit's local time is made of").
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { buildWorkers, stopAll } from "./lib/instances.mjs";
import { startOneSide } from "./lib/runs.mjs";
import { client } from "./lib/slices.mjs";

const which = process.argv[2] ?? "hit";
const ofReference = process.argv[3] === "reference";
const AMOUNT = Number(process.env.BENCH_REQUESTS ?? 6000);
const STALL_MS = Number(process.env.STALL_MS ?? 100);
const BLOCK = 1000;

const workdir = mkdtempSync(path.join(tmpdir(), "qrf-stalls-"));
try {
  const built = buildWorkers(workdir);
  const side = await startOneSide(built, which, ofReference);
  const { instance } = side;
  const connection = client(instance);
  const { ms, latencies, sentAt } = await connection.run(await side.prepare(AMOUNT));
  connection.close();
  const share = (from, to) => {
    let slow = 0;
    let all = 0;
    for (let i = from; i < to; i++) {
      all += latencies[i];
      if (latencies[i] > STALL_MS) slow += latencies[i];
    }
    return slow / all;
  };
  const sorted = Float64Array.from(latencies).sort();
  const blocks = [];
  for (let from = 0; from < AMOUNT; from += BLOCK) blocks.push(share(from, Math.min(AMOUNT, from + BLOCK)));
  const pct = (x) => `${(100 * x).toFixed(0)} %`;
  console.log(
    `${ofReference ? "reference " : ""}${which}: ${((AMOUNT * 1000) / ms).toFixed(0)} req/s, p50 ${sorted[Math.floor(AMOUNT / 2)].toFixed(1)} ms, p99 ${sorted[Math.floor(AMOUNT * 0.99)].toFixed(1)} ms; ${latencies.filter((x) => x > STALL_MS).length} answers slower than ${STALL_MS} ms, ${pct(share(0, AMOUNT))} of the connections' time`,
  );
  console.log(`  per ${BLOCK} requests: ${blocks.map(pct).join(", ")}`);
  // For each slow answer, the others that completed while it was under way (median).
  const completedAt = Float64Array.from(sentAt, (at, i) => at + latencies[i]).sort();
  const between = (from, to) => completedAt.filter((t) => t > from && t < to).length;
  const others = [];
  for (let i = 0; i < AMOUNT; i++)
    if (latencies[i] > STALL_MS) others.push(between(sentAt[i], sentAt[i] + latencies[i]));
  others.sort((x, y) => x - y);
  if (others.length > 0)
    console.log(`  while a slow answer was under way, a median of ${others[others.length >> 1]} others completed`);
} finally {
  await stopAll();
  rmSync(workdir, { recursive: true, force: true });
}
