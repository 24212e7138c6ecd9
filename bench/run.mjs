#!/usr/bin/env node
// `npm run bench`: starts the service (both Workers) and the raw-Worker baselines in local workerd,
// drives them with autocannon, and prints every figure as a ratio against its same-run baseline.
// Exits non-zero when a budget is missed. Configs live in .bench/, the Workers' state on tmpfs when
// there is one (STATE_ROOT); both are reset at the start of each run.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import autocannon from "autocannon";
import { tokenKey } from "../common/kv-keys.js";
import { prebuiltConfig, root, wrangler, wranglerAsync, wranglerBin } from "../scripts/wrangler.mjs";

const BENCH = path.join(root, ".bench");
// Local state (KV blobs, D1 and Durable Object files) lives on tmpfs where the machine has one:
// production KV and D1 are not files on this machine's disk, and the shared disk's fsync latency
// made the 100k-entry fill half as slow again. Removed at exit (it is memory).
const STATE_ROOT = existsSync("/dev/shm")
  ? path.join("/dev/shm", `qr-fallback-bench-${createHash("sha256").update(root).digest("hex").slice(0, 8)}`)
  : BENCH;
const SERVICE_STATE = path.join(STATE_ROOT, "state");
const BASELINE_STATE = path.join(STATE_ROOT, "baseline-state");
const SERVICE_PORT = 8801;
const BASELINE_PORT = 8802;
// The scale figures compare the service with a twin instance of it, filled: one twin holds 100k
// pending codes, the other a trail with 1M more events, so each figure sees one growth only.
const TWINS = {
  pending: { state: path.join(STATE_ROOT, "pending-twin-state"), port: 8803, inspectorPort: 9333 },
  search: { state: path.join(STATE_ROOT, "trail-twin-state"), port: 8804, inspectorPort: 9334 },
};
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const AMOUNT = Number(process.env.BENCH_REQUESTS ?? 2000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

const ONLY = process.env.BENCH_ONLY?.split(",") ?? null; // e.g. BENCH_ONLY=miss,create while profiling
const wanted = (name) => !ONLY || ONLY.includes(name);
const budgets = [];
const children = [];
const log = (...a) => console.log(...a);
const benchStarted = Date.now();
let lapStarted = benchStarted;
/** Where the minutes go, on stderr. */
function lap(label) {
  const now = Date.now();
  process.stderr.write(`  [${label} took ${((now - lapStarted) / 1000).toFixed(0)} s]\n`);
  lapStarted = now;
}

function budget(name, figure, limit, ok, detail) {
  budgets.push({ name, figure, limit, ok, detail });
  log(`${ok ? "  ok  " : "  FAIL"} ${name}: ${figure} (budget ${limit})${detail ? ` ${detail}` : ""}`);
}

// --- setup -------------------------------------------------------------------------------------
await import("../scripts/vendor-assets.mjs");
rmSync(BENCH, { recursive: true, force: true });
rmSync(STATE_ROOT, { recursive: true, force: true });
mkdirSync(BENCH, { recursive: true });

/** A config edit that must apply: a wording change in wrangler.toml fails the bench loudly. */
function edit(text, pattern, replacement, what) {
  const out = text.replace(pattern, replacement);
  if (out === text) throw new Error(`bench config: could not ${what} (has wrangler.toml changed?)`);
  return out;
}

// BENCH_SHAPE=single measures Cloudflare's documented shape instead: one Worker with [assets] and
// run_worker_first for the API paths (no static-assets Worker, no service binding).
const SHAPE = process.env.BENCH_SHAPE === "single" ? "single" : "three-workers";

// The service's own wrangler.toml, with the per-client limits raised so one load generator on one
// address is not throttled (the limiter is still called on every request) and main paths rebased.
let serviceToml = readFileSync(path.join(root, "wrangler.toml"), "utf8");
serviceToml = edit(serviceToml, 'main = "src/index.ts"', 'main = "../bench/service-entry.ts"', "rebase main");
serviceToml = edit(
  serviceToml,
  /migrations_dir = "audit-consumer\/migrations"/g,
  'migrations_dir = "../audit-consumer/migrations"',
  "rebase the migrations",
);
serviceToml = edit(
  serviceToml,
  /simple = \{ limit = \d+, period = 60 \}/g,
  "simple = { limit = 1000000000, period = 60 }",
  "raise the rate limits",
);
serviceToml = edit(serviceToml, /^crons = .*$/m, "crons = []", "turn the cron off");
if (SHAPE === "single") {
  serviceToml = edit(
    serviceToml,
    /^\[\[services\]\]\nbinding = "ASSETS"\nservice = "qr-fallback-static"\n/m,
    `[assets]\ndirectory = ${JSON.stringify(path.join(root, "public"))}\nbinding = "ASSETS"\nnot_found_handling = "none"\nrun_worker_first = ["/rp/*", "/cc/*", "/oob/*", "/openapi.json", "/demo", "/demo/*", "/"]\n`,
    "swap the static-assets Worker for [assets]",
  );
}
writeFileSync(path.join(BENCH, "wrangler.toml"), serviceToml);
let consumerToml = readFileSync(path.join(root, "audit-consumer/wrangler.toml"), "utf8");
consumerToml = edit(consumerToml, 'main = "src/index.ts"', 'main = "../audit-consumer/src/index.ts"', "rebase main");
consumerToml = edit(
  consumerToml,
  /migrations_dir = "migrations"/g,
  'migrations_dir = "../audit-consumer/migrations"',
  "rebase the migrations",
);
writeFileSync(path.join(BENCH, "consumer.toml"), consumerToml);

const cfgService = path.join(BENCH, "wrangler.toml");
const cfgConsumer = path.join(BENCH, "consumer.toml");
const cfgBaseline = path.join(root, "bench/baseline/wrangler.toml");

const prebuilt = (config, name) => prebuiltConfig(config, path.join(BENCH, "build"), name);
// SERVER_SECRET is a declared secret ([secrets] required): wrangler dev reads it from the .dev.vars
// beside the config it runs, not from --var.
mkdirSync(path.join(BENCH, "build"), { recursive: true });
writeFileSync(
  path.join(BENCH, "build", ".dev.vars"),
  `SERVER_SECRET="${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("hex")}"\n`,
);
const builtService = prebuilt(cfgService, "service");
const builtConsumer = prebuilt(cfgConsumer, "consumer");
const builtBaseline = prebuilt(cfgBaseline, "baseline");
wrangler(["d1", "migrations", "apply", "AUDIT_DB", "--local", "--persist-to", SERVICE_STATE, "-c", cfgService]);
wrangler(["d1", "migrations", "apply", "AUDIT_DB", "--local", "--persist-to", BASELINE_STATE, "-c", cfgBaseline]);
const twins = Object.entries(TWINS)
  .filter(([scenario]) => wanted(scenario))
  .map(([, twin]) => twin);
for (const twin of twins)
  wrangler(["d1", "migrations", "apply", "AUDIT_DB", "--local", "--persist-to", twin.state, "-c", cfgService]);

const tokenHash = async (t) =>
  Buffer.from(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(t))).toString("hex");
async function putToken(rpAppId, admin, states) {
  const token = `qrf_bench_${rpAppId}_${Math.random().toString(36).slice(2)}`;
  const record = JSON.stringify({ rpAppId, admin, label: "bench", createdAt: Date.now() });
  const key = tokenKey(await tokenHash(token));
  for (const state of states) putRecord(key, record, state);
  return token;
}
function putRecord(key, record, state) {
  wrangler([
    "kv",
    "key",
    "put",
    key,
    record,
    "--metadata",
    record,
    "--binding",
    "QR_KV",
    "--local",
    "--persist-to",
    state,
    "-c",
    cfgService,
  ]);
}
const token = await putToken("BenchApp", false, [SERVICE_STATE]);
const adminToken = await putToken("ops", true, [SERVICE_STATE, ...twins.map((t) => t.state)]);

// Outside .bench/: wrangler dev restarts a Worker when files near its config change.
const registryOf = (port) => path.join(tmpdir(), `qr-fallback-bench-registry-${process.pid}-${port}`);
function start(args, port) {
  const child = spawn(process.execPath, [wranglerBin, "dev", ...args, "--port", String(port), "--ip", "127.0.0.1"], {
    cwd: root,
    // Each instance gets its own dev registry: the service and its filled twins run Workers of the
    // same names, which the shared registry would otherwise wire across the two processes.
    env: {
      ...process.env,
      WRANGLER_SEND_METRICS: "false",
      WRANGLER_REGISTRY_PATH: registryOf(port),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (d) => {
    output += d;
  });
  child.stderr.on("data", (d) => {
    output += d;
  });
  children.push(child);
  return { child, output: () => output };
}
const stopAll = () => {
  for (const c of children) c.kill("SIGTERM");
  for (const port of [SERVICE_PORT, BASELINE_PORT, TWINS.pending.port, TWINS.search.port])
    rmSync(registryOf(port), { recursive: true, force: true });
  if (STATE_ROOT !== BENCH) rmSync(STATE_ROOT, { recursive: true, force: true });
};
process.on("exit", stopAll);
process.on("SIGINT", () => process.exit(130));

async function waitReady(url, what) {
  const until = Date.now() + 90_000;
  while (Date.now() < until) {
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(`${what} did not start`);
}

/** The service as deployed (three Workers), with its own state directory. */
const serviceArgs = (state, inspectorPort) => [
  "-c",
  builtService,
  ...(SHAPE === "single" ? [] : ["-c", path.join(root, "static-assets/wrangler.toml")]),
  "-c",
  builtConsumer,
  "--persist-to",
  state,
  "--inspector-port",
  String(inspectorPort),
  // The guessing defences stay on the path (every call is made) but never refuse the load generator.
  ...[
    "GUESS_BUDGET_PER_MINUTE",
    "GUESS_BUDGET_PER_DAY",
    "CLIENT_DAILY_FAILURE_CAP",
    "NETWORK_DAILY_FAILURE_CAP",
  ].flatMap((name) => ["--var", `${name}:1000000000`]),
  "--var",
  "RP_URL:http://localhost:8787",
];
const service = start(serviceArgs(SERVICE_STATE, 9331), SERVICE_PORT);
for (const twin of twins) {
  twin.url = `http://127.0.0.1:${twin.port}`;
  twin.instance = start(serviceArgs(twin.state, twin.inspectorPort), twin.port);
}
const baseline = start(
  ["-c", builtBaseline, "--persist-to", BASELINE_STATE, "--inspector-port", "9332"],
  BASELINE_PORT,
);
const S = `http://127.0.0.1:${SERVICE_PORT}`;
const B = `http://127.0.0.1:${BASELINE_PORT}`;
/** Base URL -> the wrangler process whose process tree serves it (for CPU accounting). */
const instances = new Map([
  [S, service.child],
  [B, baseline.child],
]);
for (const twin of twins) instances.set(twin.url, twin.instance.child);
try {
  await waitReady(`${S}/nope`, "the service");
  await waitReady(`${B}/`, "the baseline");
  for (const twin of twins) await waitReady(`${twin.url}/nope`, "a twin of the service");
} catch (err) {
  log(service.output(), baseline.output());
  throw err;
}

// --- load helpers ------------------------------------------------------------------------------
const jsonHeaders = { "content-type": "application/json" };

/**
 * CPU time (ms) used so far by a process and each of its descendants (wrangler's node process, its
 * proxy workerd and the workerd running the Workers), from /proc, keyed by role: a per-request cost
 * that, unlike throughput, does not depend on what else the two cores are doing. Linux only; null
 * elsewhere.
 */
const HAS_PROC = existsSync("/proc/self/stat");
function treeCpuMs(rootPid) {
  if (!HAS_PROC) return null;
  const parentOf = new Map();
  const ticksOf = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      parentOf.set(Number(entry), Number(fields[1]));
      ticksOf.set(Number(entry), Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]));
    } catch {
      // the process ended while we read
    }
  }
  const byRole = new Map();
  for (const [pid, t] of ticksOf) {
    let p = pid;
    while (p > 1 && p !== rootPid) p = parentOf.get(p) ?? 0;
    if (p !== rootPid) continue;
    const role = roleOf(pid);
    byRole.set(role, (byRole.get(role) ?? 0) + t * 10); // USER_HZ is 100 on Linux
  }
  return byRole;
}

/** wrangler (node), proxy (the workerd on the public port), Workers (the workerd with the inspector). */
function roleOf(pid) {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    if (!cmdline.includes("workerd")) return cmdline.includes("esbuild") ? "esbuild" : "wrangler";
    return cmdline.includes("--inspector-addr") ? "Workers" : "proxy";
  } catch {
    return "other";
  }
}

const sumOf = (byRole) => (byRole === null ? null : [...byRole.values()].reduce((a, b) => a + b, 0));
/** CPU per request of each role between two readings, e.g. "Workers 1.30, proxy 0.90, wrangler 0.40". */
function perRole(before, after, requests) {
  if (before === null) return null;
  return Object.fromEntries(
    [...after]
      .map(([role, msAfter]) => [role, (msAfter - (before.get(role) ?? 0)) / requests])
      .filter(([, v]) => v >= 0.01)
      .sort((a, b) => b[1] - a[1]),
  );
}

/** Busy and total jiffies of the whole machine, from /proc/stat. */
function machineJiffies() {
  const [, ...fields] = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/);
  const values = fields.map(Number);
  const idle = values[3] + (values[4] ?? 0);
  const total = values.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/**
 * Waits (at most 5 s) until the machine is quiet: work left over from the previous run (the
 * consumer writing a backlog of audit events, a Worker restarting) would otherwise land on the next
 * run's side of the comparison.
 */
async function quiesce() {
  if (!HAS_PROC) return;
  const until = Date.now() + 5_000;
  while (Date.now() < until) {
    const a = machineJiffies();
    await new Promise((resolve) => setTimeout(resolve, 250));
    const b = machineJiffies();
    if ((b.busy - a.busy) / Math.max(1, b.total - a.total) < 0.1) return;
  }
}

/**
 * One autocannon run; `bodies` (optional) gives each request its own body, in order. Throughput is
 * timed here, start to last response: autocannon's own clock ends `amount` runs on a whole
 * second, which quantizes short runs.
 */
async function load(
  url,
  { method = "POST", body, bodies, headers = jsonHeaders, amount = AMOUNT, connections = CONNECTIONS } = {},
) {
  await quiesce();
  let i = 0;
  const tree = [...instances].find(([base]) => url.startsWith(base))?.[1].pid ?? process.pid;
  const cpuBefore = treeCpuMs(tree);
  const genBefore = process.cpuUsage();
  const first = performance.now();
  let last = first;
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        method,
        headers,
        body,
        amount,
        connections,
        requests: bodies ? [{ setupRequest: (req) => ({ ...req, body: bodies[i++ % bodies.length] }) }] : undefined,
      },
      (err, result) => {
        if (err) return reject(err);
        const cpuAfter = treeCpuMs(tree);
        const gen = process.cpuUsage(genBefore);
        resolve({
          ...result,
          elapsedMs: last - first,
          workersCpuMs: cpuBefore === null ? null : sumOf(cpuAfter) - sumOf(cpuBefore),
          cpuByRole: perRole(cpuBefore, cpuAfter, result.requests.total),
          generatorCpuMs: (gen.user + gen.system) / 1000,
        });
      },
    );
    instance.on("response", () => {
      last = performance.now();
    });
  });
}
const summary = (r) => ({
  rps: (r.requests.total * 1000) / r.elapsedMs,
  mean: r.latency.average,
  p50: r.latency.p50,
  p99: r.latency.p99,
  non2xx: r.non2xx,
  errors: r.errors,
  cpuPerRequestMs: r.workersCpuMs === null ? null : r.workersCpuMs / r.requests.total,
  cpuByRole: r.cpuByRole,
  generatorCpuPerRequestMs: r.generatorCpuMs / r.requests.total,
});
const ms = (v) => (v === null ? "n/a" : `${v.toFixed(2)} ms`);
const roles = (byRole) =>
  byRole
    ? Object.entries(byRole)
        .map(([role, v]) => `${role} ${v.toFixed(2)}`)
        .join(", ")
    : "n/a";
const best = (runs) => runs.reduce((a, b) => (b.rps > a.rps ? b : a));

async function createCodes(n) {
  const codes = [];
  const batch = 50;
  for (let i = 0; i < n; i += batch) {
    const got = await Promise.all(
      Array.from({ length: Math.min(batch, n - i) }, async () => {
        const res = await fetch(`${S}/rp/versioned/client/qr/create`, {
          method: "POST",
          headers: { ...jsonHeaders, authorization: `Bearer ${token}` },
          body: JSON.stringify({ includeQRFallbackCode: true }),
        });
        return (await res.json()).qrFallbackActivationCode;
      }),
    );
    codes.push(...got);
  }
  return codes;
}

/**
 * Interleaves the baseline's and the service's runs and keeps each side's best, to damp the
 * machine's noise. `reference` (optional) is a second baseline that makes every binding call the
 * service's path must make (limit, read, audit send...), printed for information, not budgeted: the
 * gap between it and the service is what the framework and the crypto cost.
 */
async function pair(name, runService, runBaseline, minRatio, reference = null) {
  const s = [];
  const b = [];
  const r = [];
  for (let round = 0; round < ROUNDS; round++) {
    process.stderr.write(`  [${name.split(" ")[0]} ${name.split(" ")[1]}] round ${round + 1}: baseline`);
    b.push(summary(await runBaseline()));
    if (reference) {
      process.stderr.write(", reference");
      r.push(summary(await reference.run()));
    }
    process.stderr.write(", service");
    s.push(summary(await runService()));
    process.stderr.write("\n");
  }
  const bs = best(s);
  const bb = best(b);
  const ratio = bs.rps / bb.rps;
  log(`\n${name}`);
  log(
    `  service : ${bs.rps.toFixed(0)} req/s, p50 ${bs.p50} ms, p99 ${bs.p99} ms (non-2xx ${bs.non2xx}, errors ${bs.errors})`,
  );
  log(`  baseline: ${bb.rps.toFixed(0)} req/s, p50 ${bb.p50} ms, p99 ${bb.p99} ms`);
  // Where the CPU goes (same runs): the Workers' processes per request, and autocannon's own.
  log(
    `  CPU per request: service ${ms(bs.cpuPerRequestMs)}, baseline ${ms(bb.cpuPerRequestMs)} (load generator ${ms(bs.generatorCpuPerRequestMs)} / ${ms(bb.generatorCpuPerRequestMs)})`,
  );
  log(`    by process (ms): service ${roles(bs.cpuByRole)}; baseline ${roles(bb.cpuByRole)}`);
  let vsReference = null;
  if (reference) {
    const br = best(r);
    vsReference = bs.rps / br.rps;
    log(
      `  reference, ${reference.label}: ${br.rps.toFixed(0)} req/s, CPU per request ${ms(br.cpuPerRequestMs)} (${roles(br.cpuByRole)}); service / reference ${vsReference.toFixed(3)} (information)`,
    );
  }
  budget(`${name}: throughput ratio`, ratio.toFixed(3), `>= ${minRatio}`, ratio >= minRatio);
  return { service: bs, baseline: bb, ratio, vsReference };
}

// --- scenarios ---------------------------------------------------------------------------------
const results = {};
log(`qr-fallback bench: ${AMOUNT} requests x ${CONNECTIONS} connections per run, best of ${ROUNDS} interleaved runs`);

// Warm both up (first requests compile and open storage).
await load(`${S}/rp/versioned/device/pendingqr`, { body: '{"activationCode":"warmup"}', amount: 500 });
await load(`${B}/lookup-miss`, { body: '{"activationCode":"warmup"}', amount: 500 });

// The references answer with the service's response headers (bench/baseline/index.ts): check it.
{
  const names = async (url) => {
    const res = await fetch(url, { method: "POST", headers: jsonHeaders, body: '{"activationCode":"zzzzzz"}' });
    await res.arrayBuffer();
    return [...res.headers.keys()]
      .filter((h) => !["content-length", "date"].includes(h))
      .sort()
      .join(", ");
  };
  const service = await names(`${S}/rp/versioned/device/pendingqr`);
  const reference = await names(`${B}/lookup-miss-calls`);
  if (service !== reference)
    log(`  note: the references' headers (${reference}) are not the service's (${service}): update bench/baseline`);
}
lap("setup and warm-up");
// Scale: the service as started (10 real codes, a small trail) against its twins (100k filler
// entries under the real prefix; 1M more trail events), measured interleaved like the throughput
// pairs. This runs first, while the service is still small.
const fastest = (runs) => runs.reduce((a, b) => (b.mean < a.mean ? b : a));

const FILL = Number(process.env.BENCH_PENDING ?? 100_000);
const TRAIL = Number(process.env.BENCH_TRAIL ?? 1_000_000);
const W0 = 1_000_000_000_000; // a window far from real traffic: [W0, W0 + 60 s)
function insertEvents(state, count, fromMs, spanMs, rpAppId) {
  // Generated inside SQLite: one statement, no 1M-row file. Bodies have the real events' size.
  const sql = `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${count - 1})
  INSERT INTO audit_events (id, eventName, rpAppId, eventTimeInUTC, loggedTimeInUTC, isSuccessful, errorCode, body)
  SELECT lower(hex(randomblob(16))), 'QR_FALLBACK_PAYLOAD_RETRIEVED', '${rpAppId}', ${fromMs} + i * ${spanMs} / ${count},
    ${fromMs} + i * ${spanMs} / ${count} + 5, 0, 'QR_FALLBACK_NOT_FOUND',
    json_object('id', 'bench-' || i, 'eventName', 'QR_FALLBACK_PAYLOAD_RETRIEVED', 'message', 'QR fallback lookup failed: no pending payload for the code',
      'subName', 'device/pendingqr', 'eventTimeInUTC', ${fromMs} + i, 'tenantId', 'bench', 'remoteIP', '203.0.113.0',
      'userAgent', 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15', 'traceId', lower(hex(randomblob(16))),
      'rpAppId', '${rpAppId}', 'isSuccessful', json('false'), 'errorCode', 'QR_FALLBACK_NOT_FOUND', 'additionalDetails', json('{"extras":{}}'))
  FROM n`;
  return wranglerAsync([
    "d1",
    "execute",
    "AUDIT_DB",
    "--local",
    "--persist-to",
    state,
    "-c",
    cfgService,
    "--command",
    sql.replace(/\s+/g, " "),
  ]);
}

/**
 * Filler pending entries, through the bench-only seeding route, one request at a time (workerd
 * restarts under several concurrent thousand-put requests). wrangler dev sometimes restarts the
 * Worker mid-fill anyway ("restarted mid-request"): a refused batch is sent again; what was written
 * before stays written.
 */
async function seedPending(base, count) {
  for (let done = 0; done < count; ) {
    const batch = Math.min(2000, count - done);
    for (let attempt = 1; ; attempt++) {
      const res = await fetch(`${base}/__bench/seed-pending?count=${batch}`, { method: "POST" });
      if (res.ok) break;
      const why = `${res.status} ${await res.text()}`;
      if (attempt === 3) throw new Error(`seeding failed: ${why}`);
      process.stderr.write(`  (seeding batch refused, sending it again: ${why.slice(0, 80)})\n`);
      await waitReady(`${base}/nope`, "the twin after a restart");
    }
    done += batch;
  }
}

/** Stops a twin once its figure is taken. */
function retire(twin) {
  twin.instance.child.kill("SIGTERM");
  instances.delete(twin.url);
  twin.instance.child.once("exit", () => rmSync(twin.state, { recursive: true, force: true }));
}

if (twins.length > 0) {
  log("\nfilling the twins");
  const fillStarted = Date.now();
  // Both twins at once (different processes; nothing is measured meanwhile).
  await Promise.all([
    wanted("pending") ? seedPending(TWINS.pending.url, FILL) : null,
    // The big trail lies after the search window, in time order, like a real trail.
    wanted("search") ? insertEvents(TWINS.search.state, TRAIL, W0 + 3_600_000, TRAIL * 10, "BenchApp") : null,
  ]);
  log(
    `  ${wanted("pending") ? FILL : 0} pending entries and ${wanted("search") ? TRAIL : 0} trail events in ${((Date.now() - fillStarted) / 1000).toFixed(1)} s`,
  );
}
lap("filling");

if (wanted("pending")) {
  log("\nlookup latency vs pending codes");
  await createCodes(10);
  const missLookup = (base) =>
    load(`${base}/rp/versioned/device/pendingqr`, {
      body: '{"activationCode":"yyyyyy"}',
      connections: 4,
      amount: Math.min(AMOUNT, 1500),
    });
  const P = TWINS.pending.url;
  await missLookup(P); // warm-up: the twin has served nothing yet
  const fewRuns = [];
  const manyRuns = [];
  for (let r = 0; r < Math.max(ROUNDS, 3); r++) {
    fewRuns.push(summary(await missLookup(S)));
    manyRuns.push(summary(await missLookup(P)));
  }
  const few = fastest(fewRuns);
  const many = fastest(manyRuns);
  // Mean latency: autocannon's percentiles are whole milliseconds, too coarse for a 10% budget.
  const latencyRatio = many.mean / few.mean;
  log(
    `  10 pending: mean ${few.mean.toFixed(2)} ms (p50 ${few.p50}, p99 ${few.p99}); ${FILL} pending: mean ${many.mean.toFixed(2)} ms (p50 ${many.p50}, p99 ${many.p99})`,
  );
  budget(`lookup mean latency with ${FILL} pending / with 10`, latencyRatio.toFixed(3), "<= 1.10", latencyRatio <= 1.1);
  results.pendingLatency = { few, many, ratio: latencyRatio };
  retire(TWINS.pending);
}
lap("pending-codes latency");
if (wanted("search")) {
  // Audit search: one fixed window of 1,000 events, in a small trail (the window plus the bench's own
  // few thousand lookups) and in a trail with 1M more events.
  log("\naudit search page time vs trail size");
  const T = TWINS.search.url;
  for (const state of [SERVICE_STATE, TWINS.search.state]) await insertEvents(state, 1000, W0, 60_000, "BenchApp");
  const searchPage = (base, page) =>
    load(
      `${base}/cc/api/versioned/audit/search?startTSUTC=${W0}&endTSUTC=${W0 + 60_000}&pageSize=100&pageNumber=${page}`,
      {
        method: "GET",
        headers: { authorization: `Bearer ${adminToken}` },
        amount: 300,
        connections: 4,
      },
    );
  const searchResults = { small: {}, large: {} };
  for (const [which, page] of [
    ["first", 1],
    ["deep", 10],
  ]) {
    await searchPage(S, page); // warm-up
    await searchPage(T, page);
    const smallRuns = [];
    const largeRuns = [];
    for (let r = 0; r < Math.max(ROUNDS, 3); r++) {
      smallRuns.push(summary(await searchPage(S, page)));
      largeRuns.push(summary(await searchPage(T, page)));
    }
    const small = fastest(smallRuns);
    const large = fastest(largeRuns);
    searchResults.small[which] = small;
    searchResults.large[which] = large;
    const r = large.mean / small.mean;
    log(
      `  ${which} page: small trail mean ${small.mean.toFixed(2)} ms; with ${TRAIL} more events mean ${large.mean.toFixed(2)} ms`,
    );
    budget(`search ${which} page mean latency, ${TRAIL} / 1k events in the trail`, r.toFixed(3), "<= 1.5", r <= 1.5);
  }
  results.search = searchResults;
  retire(TWINS.search);
}
lap("audit search");

if (wanted("hit"))
  results.lookupHit = await pair(
    "lookup hit (limit + HMAC + decrypt + consume + audit) vs raw limit+get+delete+send",
    async () => {
      const codes = await createCodes(AMOUNT);
      return load(`${S}/rp/versioned/device/pendingqr`, {
        bodies: codes.map((c) => JSON.stringify({ activationCode: c })),
      });
    },
    async () => {
      const codes = Array.from({ length: AMOUNT }, (_, i) => `h${i}${Math.random().toString(36).slice(2, 8)}`);
      for (let i = 0; i < codes.length; i += 500) {
        await fetch(`${B}/seed`, {
          method: "POST",
          headers: jsonHeaders,
          body: JSON.stringify(codes.slice(i, i + 500)),
        });
      }
      return load(`${B}/lookup-hit`, { bodies: codes.map((c) => JSON.stringify({ activationCode: c })) });
    },
    0.85,
  );
if (wanted("miss"))
  results.lookupMiss = await pair(
    "lookup miss vs raw KV get",
    () => load(`${S}/rp/versioned/device/pendingqr`, { body: '{"activationCode":"zzzzzz"}' }),
    () => load(`${B}/lookup-miss`, { body: '{"activationCode":"zzzzzz"}' }),
    0.9,
    {
      label: "raw limit+get+send answered with the service's headers and body, what a miss must do",
      run: () => load(`${B}/lookup-miss-calls`, { body: '{"activationCode":"zzzzzz"}' }),
    },
  );
if (wanted("create"))
  results.create = await pair(
    "create with fallback vs raw KV put",
    () =>
      load(`${S}/rp/versioned/client/qr/create`, {
        body: '{"includeQRFallbackCode":true}',
        headers: { ...jsonHeaders, authorization: `Bearer ${token}` },
      }),
    () => load(`${B}/create`, { body: "{}" }),
    0.85,
    {
      label: "raw limit+get+put+send answered with the service's headers, what a create must do",
      run: () => load(`${B}/create-calls`, { body: "{}" }),
    },
  );
lap("throughput pairs");

if (wanted("consumer")) {
  // Consumer: one batched D1 statement set per queue batch vs one insert per message.
  log("\naudit consumer writes");
  const consumerRun = async (mode) =>
    (await (await fetch(`${B}/consumer-writes?mode=${mode}&batches=20&batchSize=100`)).json()).eventsPerSecond;
  const batched = Math.max(await consumerRun("batch"), await consumerRun("batch"));
  const single = Math.max(await consumerRun("single"), await consumerRun("single"));
  log(`  batched: ${batched.toFixed(0)} events/s; one insert per message: ${single.toFixed(0)} events/s`);
  budget("consumer batched / one-by-one events/s", (batched / single).toFixed(2), ">= 10", batched / single >= 10);
  results.consumer = { batched, single };
}

lap("consumer writes");
// Bundle size.
const outdir = path.join(BENCH, "dry-run");
const dry = wrangler(["deploy", "--dry-run", "-c", path.join(root, "wrangler.toml"), "--outdir", outdir]);
const gzip = Number(dry.match(/gzip: ([\d.]+) KiB/)?.[1]);
log("\nbundle");
budget("main Worker upload, gzip KiB", gzip, "<= 64", gzip <= 64);
results.bundle = { gzipKiB: gzip };

mkdirSync(path.join(root, "bench/results"), { recursive: true });
writeFileSync(
  path.join(root, "bench/results/latest.json"),
  JSON.stringify({ at: new Date().toISOString(), results, budgets }, null, 2),
);
const failed = budgets.filter((b) => !b.ok);
log(
  `\n${budgets.length - failed.length}/${budgets.length} budgets met${failed.length ? `; missed: ${failed.map((f) => f.name).join("; ")}` : ""}`,
);
stopAll();
process.exit(failed.length ? 1 : 0);
