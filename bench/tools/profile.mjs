#!/usr/bin/env node
// `npm run bench:profile -- hit|miss|create [reference]`: a V8 sampling profile of the service (or,
// with `reference`, of the bench's reference Worker), unminified, through Miniflare's API as the
// bench runs it, under one load run, printed as the functions with the most self time. Where the
// bench says the service spends more than its reference, this says on what. BENCH_REQUESTS sets the
// run's size; PROFILE_TOP the number of rows.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import WebSocket from "ws";
import { processCpuNs } from "../lib/cpu.mjs";
import { buildWorkers, stopAll } from "../lib/instances.mjs";
import { startOneSide } from "../lib/runs.mjs";
import { client } from "../lib/slices.mjs";

const which = process.argv[2] ?? "hit";
const ofReference = process.argv[3] === "reference";
const PORT = Number(process.env.BENCH_INSPECTOR ?? 9329);
const TOP = Number(process.env.PROFILE_TOP ?? 40);
const AMOUNT = Number(process.env.BENCH_REQUESTS ?? 4000);
/** Sampling interval; every isolate of the instance is sampled, so not too fine. */
const INTERVAL_US = Number(process.env.PROFILE_INTERVAL_US ?? 500);
process.env.BENCH_PROFILE = "1";
process.env.BENCH_INSPECTOR = String(PORT);

/** One Chrome DevTools Protocol session per isolate of the instance (its Workers and Miniflare's own). */
async function devtools() {
  const targets = await (await fetch(`http://127.0.0.1:${PORT}/json/list`)).json();
  return Promise.all(
    targets.map(async (target) => {
      const ws = new WebSocket(target.webSocketDebuggerUrl);
      await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
      let id = 0;
      const pending = new Map();
      ws.on("message", (data) => {
        const msg = JSON.parse(String(data));
        if (msg.id && pending.has(msg.id)) {
          pending.get(msg.id)(msg);
          pending.delete(msg.id);
        }
      });
      const send = (method, params = {}) =>
        new Promise((resolve) => {
          pending.set(++id, resolve);
          ws.send(JSON.stringify({ id, method, params }));
        });
      return { send, close: () => ws.close(), title: target.title.replace(/^workerd: worker /, "") };
    }),
  );
}

/** A function as the rows name it: its name and bundle position. */
function frameKey(callFrame) {
  const where = callFrame.url ? `${path.basename(callFrame.url)}:${callFrame.lineNumber + 1}` : "";
  return `${callFrame.functionName || "(anonymous)"} ${where}`;
}

/** Self time per function (name and bundle position), largest first. */
function selfTimes(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const hits = new Map();
  for (const sample of profile.samples) hits.set(sample, (hits.get(sample) ?? 0) + 1);
  const rows = new Map();
  for (const [nodeId, count] of hits) {
    const key = frameKey(byId.get(nodeId).callFrame);
    rows.set(key, (rows.get(key) ?? 0) + count);
  }
  // PROFILE_INCLUSIVE=1: each function's time with what it called synchronously (awaits cut stacks).
  if (process.env.PROFILE_INCLUSIVE) {
    const parent = new Map();
    for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id);
    rows.clear();
    for (const [nodeId, count] of hits) {
      const seen = new Set();
      for (let id = nodeId; id !== undefined; id = parent.get(id)) seen.add(frameKey(byId.get(id).callFrame));
      for (const key of seen) rows.set(key, (rows.get(key) ?? 0) + count);
    }
    rows.delete("(root) ");
  }
  const total = profile.samples.length;
  // "(program)" grows with wall time (the sampler's own ticks), not with the requests: left out.
  const idle = (rows.get("(idle) ") ?? 0) + (rows.get("(program) ") ?? 0);
  return {
    total,
    busyMs: ((total - idle) * INTERVAL_US) / 1000,
    rows: [...rows].sort((a, b) => b[1] - a[1]).map(([k, n]) => [k, n, (100 * n) / total]),
  };
}

const workdir = mkdtempSync(path.join(tmpdir(), "qrf-profile-"));
try {
  const built = buildWorkers(workdir);
  const side = await startOneSide(built, which, ofReference);
  const { instance } = side;
  const connection = client(instance);
  await connection.run(await side.prepare(1000)); // warm
  const requests = await side.prepare(AMOUNT);
  const sessions = await devtools();
  for (const session of sessions) {
    await session.send("Profiler.enable");
    await session.send("Profiler.setSamplingInterval", { interval: INTERVAL_US });
    await session.send("Profiler.start");
  }
  const cpuBefore = processCpuNs(instance.pid);
  const { ms } = await connection.run(requests);
  const cpuMs = (processCpuNs(instance.pid) - cpuBefore) / 1e6;
  connection.close();
  const profiles = [];
  for (const session of sessions) {
    const { result: stopped } = await session.send("Profiler.stop");
    session.close();
    profiles.push({ title: session.title, ...selfTimes(stopped.profile) });
  }
  profiles.sort((x, y) => y.busyMs - x.busyMs);
  console.log(
    `${ofReference ? "reference " : ""}${which}: ${((AMOUNT * 1000) / ms).toFixed(0)} req/s, CPU ${(cpuMs / AMOUNT).toFixed(2)} ms/request (profiled: the profiler's own cost is in it)`,
  );
  console.log("JavaScript busy time per request, by isolate:");
  for (const p of profiles.filter((x) => x.busyMs > 0))
    console.log(`  ${(p.busyMs / AMOUNT).toFixed(3)} ms  ${p.title}`);
  // PROFILE_WORKER=<isolate title> shows another isolate's functions than the busiest.
  const shown = profiles.find((x) => x.title === process.env.PROFILE_WORKER) ?? profiles[0];
  console.log(`hottest functions of ${shown.title}:`);
  for (const [name, n, pct] of shown.rows.slice(0, TOP))
    console.log(`${pct.toFixed(1).padStart(5)}%  ${String(n).padStart(6)}  ${name}`);
} finally {
  await stopAll();
  rmSync(workdir, { recursive: true, force: true });
}
