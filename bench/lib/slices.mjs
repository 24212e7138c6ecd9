// Interleaved slices: the two sides of a comparison take turns in short slices (200 requests each
// by default) for the whole measurement, alternating which goes first, so both see the same
// moments of the machine. This VM's speed moves by tens of percent within seconds: runs of a few
// thousand requests back to back put the same code 10-20 % apart (BENCHMARKS.md, the A/A rows).
// Requests go over kept-alive node:http connections (no client start-up per slice, no whole-second
// end as autocannon's), and each workerd process's CPU is read from /proc in nanoseconds (cpu.mjs).
import http from "node:http";
import { idle, processCpuNs, quiesce } from "./cpu.mjs";
import { CONNECTIONS } from "./load.mjs";
import { size } from "./mode.mjs";

export const SLICES = size("BENCH_SLICES", 32, 2);
export const SLICE_SIZE = size("BENCH_SLICE", 200, 20);
const WARM_SLICES = 2;
const PREPARE_BLOCK = 400;

/**
 * A kept-alive client of one instance. `run(requests)` sends them, `connections` at a time; returns
 * each one's latency and when it was sent (ms from the run's start).
 */
export function client(instance, connections = CONNECTIONS) {
  const url = new URL(instance.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const send = ({ method = "POST", path, headers, body = "", status }) =>
    new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: url.hostname,
          port: url.port,
          method,
          path,
          headers: { ...headers, "content-length": Buffer.byteLength(body) },
          agent,
        },
        (res) => {
          res.resume();
          res.on("end", () =>
            status && res.statusCode !== status
              ? reject(new Error(`${instance.label} ${method} ${path}: answered ${res.statusCode}, expected ${status}`))
              : resolve(),
          );
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  return {
    async run(requests) {
      const latencies = new Float64Array(requests.length);
      const sentAt = new Float64Array(requests.length);
      let next = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: connections }, async () => {
          while (next < requests.length) {
            const i = next++;
            const at = performance.now();
            sentAt[i] = at - started;
            await send(requests[i]);
            latencies[i] = performance.now() - at;
          }
        }),
      );
      return { ms: performance.now() - started, latencies, sentAt };
    },
    close: () => agent.destroy(),
  };
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
/** One side's pooled figures: throughput over all its slices, CPU per request, latency percentiles. */
function pooled(runs, cpuNs, perSlice) {
  const requests = runs.length * perSlice;
  const ms = runs.reduce((sum, r) => sum + r.ms, 0);
  const all = Float64Array.from(runs.flatMap((r) => [...r.latencies])).sort();
  return {
    rps: (requests * 1000) / ms,
    meanMs: all.reduce((sum, v) => sum + v, 0) / all.length,
    cpuPerRequestMs: cpuNs === null ? null : cpuNs / 1e6 / requests,
    p50Ms: +percentile(all, 0.5).toFixed(2),
    p99Ms: +percentile(all, 0.99).toFixed(2),
    requests,
  };
}

/**
 * 95 % interval of the pooled throughput ratio a / b, by resampling the slice pairs (slice i of
 * each side ran next to the other's): how far the machine's moves from slice to slice could shift
 * it. What differs between two processes for a whole run is not in it (BENCHMARKS.md, the A/A rows).
 */
function interval(aRuns, bRuns) {
  let seed = 0x9e3779b9;
  const random = () => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
  const ratios = [];
  for (let k = 0; k < 1000; k++) {
    let [a, b] = [0, 0];
    for (let j = 0; j < aRuns.length; j++) {
      const i = Math.floor(random() * aRuns.length);
      a += aRuns[i].ms;
      b += bRuns[i].ms;
    }
    ratios.push(b / a); // equal requests per slice: throughput a / b = time b / time a
  }
  ratios.sort((x, y) => x - y);
  return [ratios[25], ratios[974]];
}

/**
 * Measures side `a` against side `b` (each `{ instance, label, prepare(count) }`, `prepare` returning
 * that many requests, done before any timing): two warm slices each, then `slices` slices each in
 * turns. Throughput = requests / time spent in that side's slices; CPU = everything its process did
 * from the first measured slice until it is idle after the last (its audit consumer's writes and
 * `waitUntil` work included), per request.
 */
export async function interleave(a, b, { slices = SLICES, size = SLICE_SIZE, connections = CONNECTIONS } = {}) {
  const total = (slices + WARM_SLICES) * size;
  const sides = [a, b];
  // Prepared in turns too: a hit's codes (and the claim objects they woke) are then as old on both
  // sides. One side after the other, the first side's claim objects could sit idle past workerd's
  // eviction time before its lookups began, while the other's were still in memory.
  const work = [[], []];
  for (let done = 0; done < total; done += PREPARE_BLOCK) {
    for (const s of [0, 1]) work[s].push(...(await sides[s].prepare(Math.min(PREPARE_BLOCK, total - done))));
  }
  for (const side of sides) await idle(side.instance.pid); // what preparing left (its audit events) is not measured
  await quiesce();
  const clients = sides.map((side) => client(side.instance, connections));
  try {
    const slice = (s, i) => work[s].slice(i * size, (i + 1) * size);
    for (let i = 0; i < WARM_SLICES; i++) for (const s of [0, 1]) await clients[s].run(slice(s, i));
    // Two routes of one process: its CPU cannot be split between them.
    const pid = (side) => (a.instance === b.instance ? null : side.instance.pid);
    const cpuBefore = sides.map((side) => processCpuNs(pid(side)));
    const runs = [[], []];
    for (let i = WARM_SLICES; i < slices + WARM_SLICES; i++) {
      for (const s of i % 2 ? [1, 0] : [0, 1]) runs[s].push(await clients[s].run(slice(s, i)));
    }
    for (const side of sides) await idle(side.instance.pid);
    const cpu = sides.map((side, s) => {
      const after = processCpuNs(pid(side));
      return after === null || cpuBefore[s] === null ? null : after - cpuBefore[s];
    });
    return summary([{ runs, cpu }], size);
  } finally {
    for (const c of clients) c.close();
  }
}

/**
 * One comparison's figures from the slices of one or more draws (each draw a fresh pair of
 * processes, bench/run.mjs): every side's slices pooled, its CPU summed, the interval resampled
 * over all slice pairs; `draws` keeps each draw's own ratio.
 */
function summary(draws, size) {
  const runs = [0, 1].map((s) => draws.flatMap((d) => d.runs[s]));
  const cpu = [0, 1].map((s) =>
    draws.some((d) => d.cpu[s] === null) ? null : draws.reduce((t, d) => t + d.cpu[s], 0),
  );
  const [pa, pb] = [pooled(runs[0], cpu[0], size), pooled(runs[1], cpu[1], size)];
  const ratioOf = (d) => d.runs[1].reduce((t, r) => t + r.ms, 0) / d.runs[0].reduce((t, r) => t + r.ms, 0);
  return {
    a: pa,
    b: pb,
    ratio: pa.rps / pb.rps,
    cpuRatio: pa.cpuPerRequestMs && pb.cpuPerRequestMs ? pb.cpuPerRequestMs / pa.cpuPerRequestMs : null,
    interval: interval(runs[0], runs[1]),
    slices: runs[0].length,
    size,
    draws: draws.map(ratioOf),
    raw: draws,
  };
}

/**
 * `interleave(b, a)` read as `interleave(a, b)`: a comparison can put either side first (the first
 * side warms first and starts its slices first in even turns) and still be reported one way round.
 */
export function swapped(m) {
  return summary(
    m.raw.map((d) => ({ runs: [d.runs[1], d.runs[0]], cpu: [d.cpu[1], d.cpu[0]] })),
    m.size,
  );
}

/** Joins the results of `interleave` for one comparison made in several draws. */
export function joinDraws(results) {
  return summary(
    results.flatMap((m) => m.raw),
    results[0].size,
  );
}
