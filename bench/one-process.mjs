#!/usr/bin/env node
// `node bench/one-process.mjs`: the lookup hit of the service and of the reference in ONE Worker
// (bench/one-process/entry.ts: one isolate, one workerd process), each side over its own real
// local bindings, made one after the other inside the Worker. Runs of BENCH_SLICE hits alternate
// between the sides (BENCH_SLICES per side); each run's CPU is the process's, read from /proc from
// the run's start until the process is idle again (its audit consumer's batch and `waitUntil` work
// included). What the bench's pair cannot separate (two processes, ten connections, a client) is
// gone, so a difference in what the sides make their bindings do shows here (BENCHMARKS.md, 0.3.6).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { root } from "../scripts/wrangler.mjs";
import { idle, processCpuNs } from "./lib/cpu.mjs";
import { applyMigrations, bundle, mainWorkerOptions, start, stopAll } from "./lib/instances.mjs";

const SLICE = Number(process.env.BENCH_SLICE ?? 200);
const SLICES = Number(process.env.BENCH_SLICES ?? 20);
const SIDES = ["service", "reference"];

const workdir = mkdtempSync(path.join(tmpdir(), "qrf-one-process-"));
try {
  const script = bundle(path.join(root, "bench/one-process/wrangler.toml"), path.join(workdir, "bundle"));
  const options = mainWorkerOptions(script);
  // The service's audit consumer as its own config declares it (batch size, timeout, retries).
  const { workerOptions: consumerConfig } = unstable_getMiniflareWorkerOptions(
    path.join(root, "audit-consumer/wrangler.toml"),
  );
  const referenceAudit = "one-process-reference-audit";
  const instance = await start("one-process", {
    ...options,
    name: "one-process",
    serviceBindings: {}, // ASSETS: the lookup never forwards to the static Worker
    kvNamespaces: { ...options.kvNamespaces, REFERENCE_KV: "one-process-reference-kv" },
    d1Databases: { ...options.d1Databases, REFERENCE_DB: "one-process-reference-db" },
    queueProducers: { ...options.queueProducers, REFERENCE_AUDIT_QUEUE: { queueName: referenceAudit } },
    queueConsumers: {
      ...options.queueConsumers,
      ...consumerConfig.queueConsumers,
      [referenceAudit]: { maxBatchSize: 100, maxBatchTimeout: 1 },
    },
    durableObjects: {
      ...options.durableObjects,
      CLAIMS: { className: "Claims", useSQLite: true },
      LEDGER: { className: "Ledger", useSQLite: true },
    },
  });
  for (const db of ["AUDIT_DB", "REFERENCE_DB"])
    await applyMigrations(await instance.mf.getD1Database(db), path.join(root, "audit-consumer/migrations"));

  const call = async (what, side, n) => {
    const res = await instance.mf.dispatchFetch(`http://one-process/${what}?side=${side}&n=${n}`);
    const text = await res.text();
    if (res.status !== 200) throw new Error(`${what} ${side}: ${res.status} ${text}`);
    return text;
  };
  const cpu = { service: [], reference: [] };
  for (let slice = -1; slice < SLICES; slice++) {
    for (const side of slice % 2 ? SIDES : [...SIDES].reverse()) {
      await call("prepare", side, SLICE);
      await idle(instance.pid);
      const before = processCpuNs(instance.pid);
      const { hits } = JSON.parse(await call("run", side, SLICE));
      if (hits !== SLICE) throw new Error(`${side}: ${hits} of ${SLICE} lookups were hits`);
      await idle(instance.pid);
      if (slice >= 0) cpu[side].push((processCpuNs(instance.pid) - before) / 1e6 / SLICE); // slice -1 warms
    }
  }
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const ratios = cpu.service.map((s, i) => cpu.reference[i] / s).sort((a, b) => a - b);
  console.log(
    `lookup hit, one process, ${SLICES} runs of ${SLICE} per side: CPU per hit service ${mean(cpu.service).toFixed(3)} ms, reference ${mean(cpu.reference).toFixed(3)} ms; reference / service ${(mean(cpu.reference) / mean(cpu.service)).toFixed(3)} (run pairs: median ${ratios[Math.floor(ratios.length / 2)].toFixed(3)}, ${ratios[0].toFixed(3)}-${ratios.at(-1).toFixed(3)})`,
  );
} finally {
  await stopAll();
  rmSync(workdir, { recursive: true, force: true });
}
