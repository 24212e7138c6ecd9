// The edge latency model (issue #14): the service (bench/edge/service-edge.ts: the real Worker, every
// binding delayed as on Cloudflare's network: bench/edge/latency.ts) and a reference that makes only
// the calls each answer must wait for (bench/edge/reference-edge.ts), both through Miniflare's API (no
// wrangler dev proxy), one request at a time: p50 and p99 of a lookup hit, a lookup miss and a
// create. Budget: service p50 / reference p50 <= 1.10 each. Part of `npm run bench`; alone:
// `npm run bench:edge`.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { root } from "../../scripts/wrangler.mjs";
import { budget } from "./budgets.mjs";
import { applyMigrations, mainWorkerOptions, putToken } from "./instances.mjs";
import { size } from "./mode.mjs";

const N = size("BENCH_EDGE_REQUESTS", 100, 5);
const BUDGET = 1.1;

const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};
const stats = (values) => ({ p50Ms: +percentile(values, 50).toFixed(1), p99Ms: +percentile(values, 99).toFixed(1) });
const code = () => Array.from(randomBytes(6), (b) => "abcdefghijklmnopqrstuvwxyz"[b % 26]).join("");
const ip = (i) => `10.${(i >> 8) & 255}.${i & 255}.7`;

// Requests are spaced so one request's background work (waitUntil: the ledger's Durable Object write, the
// audit send), which on Cloudflare runs on other machines, does not land on the next request's CPU
// here (BENCHMARKS.md shows both). BENCH_EDGE_GAP_MS=0: back to back.
const GAP_MS = Number(process.env.BENCH_EDGE_GAP_MS ?? 60);
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
// BENCH_EDGE_AUDIT=on-path: the service answers only after its audit send, as 0.1 did (the "before"
// of moving the hand-off off the answer's path; bench/edge/service-edge.ts).
const AUDIT_ON_PATH = process.env.BENCH_EDGE_AUDIT === "on-path";

async function bundle(dir, entry, name) {
  const outfile = path.join(dir, `${name}.mjs`);
  await build({
    entryPoints: [path.join(root, entry)],
    bundle: true,
    format: "esm",
    platform: "neutral",
    conditions: ["workerd", "worker", "browser"],
    external: ["cloudflare:*", "node:*"],
    outfile,
    logLevel: "error",
  });
  return outfile;
}

/** Runs the model; records its three budgets and returns the `edgeModel` figures. */
export async function edgeModel() {
  const dir = mkdtempSync(path.join(tmpdir(), "qrf-edge-"));
  try {
    return await measureAll(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measureAll(dir) {
  const unlimited = { simple: { limit: 1_000_000_000, period: 60 } };
  const mf = new Miniflare({
    workers: [
      // The real Worker's bindings from wrangler.toml (as the bench runs it), its entry wrapping them
      // in the latency model; no static-assets Worker here (no page is measured).
      {
        ...mainWorkerOptions(await bundle(dir, "bench/edge/service-edge.ts", "service"), {
          serviceBindings: {},
          bindings: AUDIT_ON_PATH ? { BENCH_EDGE_AUDIT: "on-path" } : {},
        }),
        name: "service",
        routes: ["service.local/*"],
      },
      {
        name: "reference",
        modules: true,
        modulesRoot: dir,
        scriptPath: await bundle(dir, "bench/edge/reference-edge.ts", "reference"),
        compatibilityDate: "2026-04-01",
        kvNamespaces: ["QR_KV"],
        ratelimits: {
          LOOKUP_LIMITER: { ...unlimited, namespace_id: "9001" },
          CREATE_LIMITER: { ...unlimited, namespace_id: "9002" },
        },
        durableObjects: { CLAIMS: { className: "Claims", useSQLite: true } },
        routes: ["reference.local/*"],
      },
    ],
  });

  // The control database's schema (migrations/), as `npm run deploy` applies it.
  await applyMigrations(await mf.getD1Database("CONTROL_DB", "service"), path.join(root, "migrations"));

  const token = await putToken({ kv: await mf.getKVNamespace("QR_KV", "service") }, "EdgeApp", ["qr:create"]);

  async function timed(url, body, headers = {}) {
    const started = performance.now();
    const res = await mf.dispatchFetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    });
    const json = await res.json();
    return { ms: performance.now() - started, status: res.status, json };
  }

  /** The service's binding calls since the last read (bench/edge/counting.ts), then reset. */
  const takeCalls = async () => (await mf.dispatchFetch("http://service.local/__bench/calls")).json();

  /** p50 and p99 of N requests after 5 to warm; `counted`: the service's binding calls per request too. */
  async function measure(run, counted = false) {
    const times = [];
    for (let i = 0; i < 5; i++) await run(-1 - i); // warm the isolate and the objects
    if (counted) {
      await pause(500); // the warm-up's background work is not this figure's
      await takeCalls();
    }
    for (let i = 0; i < N; i++) {
      times.push((await run(i)).ms);
      if (GAP_MS) await pause(GAP_MS);
    }
    if (!counted) return stats(times);
    await pause(500); // the background work (waitUntil, the shard's event alarm after 250 ms) lands
    const calls = Object.fromEntries(Object.entries(await takeCalls()).map(([k, v]) => [k, +(v / N).toFixed(3)]));
    return { ...stats(times), calls };
  }

  // The two sides run at the same time, each one request after another: a request is mostly the
  // model's delays (about 1-3 ms of CPU in 40-120 ms), so they seldom need the cores at once, and
  // when they do it is alike for both; it halves the model's time (the bench must stay under 10 min).
  const [service, reference] = await Promise.all([measureService(), measureReference()]);

  async function measureService() {
    const service = {};
    const issued = [];
    service.create = await measure(async (i) => {
      const r = await timed(
        "http://service.local/rp/versioned/client/qr/create",
        { includeQRFallbackCode: true },
        {
          authorization: `Bearer ${token}`,
        },
      );
      if (r.status !== 200) throw new Error(`create ${r.status} ${JSON.stringify(r.json)}`);
      if (i >= 0) issued.push(r.json.qrFallbackActivationCode);
      return r;
    }, true);
    service.lookupHit = await measure(async (i) => {
      const c =
        i >= 0
          ? issued[i]
          : (
              await timed(
                "http://service.local/rp/versioned/client/qr/create",
                { includeQRFallbackCode: true },
                { authorization: `Bearer ${token}` },
              )
            ).json.qrFallbackActivationCode;
      const r = await timed(
        "http://service.local/rp/versioned/device/pendingqr",
        { activationCode: c },
        { "cf-connecting-ip": ip(i + 10) },
      );
      if (r.status !== 200) throw new Error(`hit ${r.status} ${JSON.stringify(r.json)}`);
      return r;
    }, true);
    service.lookupMiss = await measure(
      (i) =>
        timed(
          "http://service.local/rp/versioned/device/pendingqr",
          { activationCode: code() },
          { "cf-connecting-ip": ip(i + 5000) },
        ),
      true,
    );
    return service;
  }

  async function measureReference() {
    const reference = {};
    const refCodes = [];
    reference.create = await measure(async (i) => {
      const c = code() + i;
      if (i >= 0) refCodes.push(c);
      return timed("http://reference.local/create", { code: c });
    });
    reference.lookupHit = await measure((i) =>
      timed("http://reference.local/hit", { code: i >= 0 ? refCodes[i] : `warm${i}` }, { "cf-connecting-ip": ip(i) }),
    );
    reference.lookupMiss = await measure((i) =>
      timed("http://reference.local/miss", { code: `none${code()}` }, { "cf-connecting-ip": ip(i) }),
    );
    return reference;
  }
  await mf.dispose();
  const edgeModel = {};
  console.log(
    `\nedge latency model: ${N} sequential requests per figure, ${GAP_MS} ms apart (bench/edge/latency.ts)${AUDIT_ON_PATH ? "; the service's audit send on the answer's path (0.1)" : ""}`,
  );
  for (const key of ["lookupHit", "lookupMiss", "create"]) {
    const ratio = +(service[key].p50Ms / reference[key].p50Ms).toFixed(3);
    const { calls, ...serviceStats } = service[key];
    edgeModel[key] = { service: serviceStats, reference: reference[key], ratio, serviceCallsPerRequest: calls };
    console.log(
      `  ${key}: service p50 ${service[key].p50Ms} ms, p99 ${service[key].p99Ms} ms; reference p50 ${reference[key].p50Ms} ms, p99 ${reference[key].p99Ms} ms`,
    );
    console.log(
      `    binding calls per request: ${Object.entries(calls ?? {})
        .map(([k, v]) => `${k} ${v}`)
        .join(", ")}`,
    );
    budget(`edge model ${key}: service / reference p50`, ratio, `<= ${BUDGET}`, ratio <= BUDGET);
  }
  return edgeModel;
}
