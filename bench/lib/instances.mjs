// The Workers under measurement, run through Miniflare's API (one workerd process per instance, no
// wrangler dev proxy or node process in the request path), from the bundles `wrangler deploy
// --dry-run` builds: what runs is what would be uploaded. Bindings come from the wrangler configs
// themselves (wrangler's own config-to-Miniflare conversion); the bench overrides only what it must.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions, unstable_splitSqlQuery } from "wrangler";
import { tokenKey } from "../../common/kv-keys.js";
import { bundleWorker, root } from "../../scripts/wrangler.mjs";
import { workerdPids } from "./cpu.mjs";

// Miniflare keeps every store (KV blobs, the SQLite files of Durable Objects and D1) under the temp
// directory. On this VM's disk its writes stalled requests for hundreds of milliseconds at random
// (lookup-hit p99 600-1000 ms, throughput swinging 2x between identical runs), which measures the
// disk, not the Workers; a Worker's storage on Cloudflare is not its machine's disk either. So the
// stores live in memory (tmpfs) when the machine has one, for both sides alike.
if (!process.env.TMPDIR && existsSync("/dev/shm")) process.env.TMPDIR = "/dev/shm";

/** Miniflare options of one Worker: its config's bindings, its deploy bundle, `overrides` on top. */
function workerOptions(config, name, script, overrides = {}) {
  const { workerOptions } = unstable_getMiniflareWorkerOptions(config);
  const options = {
    ...workerOptions,
    name,
    modules: true,
    modulesRoot: script && path.dirname(script),
    scriptPath: script,
    ...overrides,
  };
  options.bindings = { ...workerOptions.bindings, ...overrides.bindings };
  return options;
}

const UNLIMITED = { limit: 1_000_000_000, period: 60 };

/**
 * Builds the bundles once: the service (its entry adds one bench-only seeding route), its audit
 * consumer, and the reference Worker. Returns what `startService` and `startReference` need.
 */
export function buildWorkers(workdir) {
  mkdirSync(workdir, { recursive: true });
  // BENCH_PROFILE keeps names readable in a CPU profile.
  const minify = process.env.BENCH_PROFILE ? false : undefined;
  return {
    service: bundleWorker(path.join(root, "wrangler.toml"), path.join(workdir, "service"), {
      entry: "bench/service-entry.ts",
      minify,
    }),
    consumer: bundleWorker(path.join(root, "audit-consumer/wrangler.toml"), path.join(workdir, "consumer")),
    reference: bundleWorker(path.join(root, "bench/baseline/wrangler.toml"), path.join(workdir, "reference"), {
      minify,
    }),
  };
}

const instances = [];

export async function start(label, options) {
  const before = new Set(workerdPids());
  // BENCH_INSPECTOR=<port> opens the first instance to a CPU profiler (scripts/profile not shipped).
  const inspector =
    process.env.BENCH_INSPECTOR && instances.length === 0 ? { inspectorPort: Number(process.env.BENCH_INSPECTOR) } : {};
  const mf = new Miniflare({ host: "127.0.0.1", port: 0, ...inspector, ...options });
  const url = (await mf.ready).toString().replace(/\/$/, "");
  const pid = workerdPids().find((p) => !before.has(p)) ?? null;
  const instance = { label, mf, url, pid };
  instances.push(instance);
  return instance;
}

export async function stopAll() {
  await Promise.all(instances.splice(0).map((i) => i.mf.dispose().catch(() => {})));
}

/** Applies a folder of D1 migrations to a database of a running instance. */
export async function applyMigrations(db, dir) {
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith(".sql"))
    .sort()) {
    for (const statement of unstable_splitSqlQuery(readFileSync(path.join(dir, file), "utf8"))) {
      await db.prepare(statement).run();
    }
  }
}

/**
 * The main Worker's Miniflare options from wrangler.toml, running `script`: the guessing defences
 * stay on the path (every call is made) but never refuse the load generator, and the rate limits are
 * raised for the same reason. Shared by the bench and the edge latency model.
 */
export function mainWorkerOptions(script, overrides = {}) {
  const { workerOptions: shipped } = unstable_getMiniflareWorkerOptions(path.join(root, "wrangler.toml"));
  const limits = Object.fromEntries(
    Object.entries(shipped.ratelimits ?? {}).map(([name, limiter]) => [name, { ...limiter, simple: UNLIMITED }]),
  );
  return workerOptions(path.join(root, "wrangler.toml"), "qr-fallback", script, {
    ratelimits: limits,
    ...overrides,
    bindings: {
      GUESS_BUDGET_PER_MINUTE: "1000000000",
      GUESS_BUDGET_PER_DAY: "1000000000",
      CLIENT_DAILY_FAILURE_CAP: "1000000000",
      NETWORK_DAILY_FAILURE_CAP: "1000000000",
      RP_URL: "https://qr.example.com",
      // Codes (and their claims) outlive the whole bench: a claim shard's expiry alarm is the
      // service's cleanup, not a lookup's or a create's cost, and thousands of them firing at once
      // (the hit rounds' codes, 180 s later) landed on whichever run was measured then.
      QR_TTL_SECONDS: "600",
      SERVER_SECRET: randomBytes(32).toString("hex"),
      ...overrides.bindings,
    },
  });
}

/** The service as deployed: the main Worker, its audit consumer and the static-assets Worker in one workerd. */
export async function startService(label, built) {
  const instance = await start(label, {
    workers: [
      mainWorkerOptions(built.service),
      workerOptions(path.join(root, "audit-consumer/wrangler.toml"), "qr-fallback-audit-consumer", built.consumer),
      {
        ...workerOptions(path.join(root, "static-assets/wrangler.toml"), "qr-fallback-static", undefined),
        scriptPath: undefined,
        script: "export default { fetch() { return new Response(null, { status: 404 }); } };",
      },
    ],
  });
  const main = "qr-fallback";
  await applyMigrations(
    await instance.mf.getD1Database("AUDIT_DB", main),
    path.join(root, "audit-consumer/migrations"),
  );
  await applyMigrations(await instance.mf.getD1Database("CONTROL_DB", main), path.join(root, "migrations"));
  instance.kv = await instance.mf.getKVNamespace("QR_KV", main);
  instance.auditDb = await instance.mf.getD1Database("AUDIT_DB", main);
  return instance;
}

/**
 * The reference Worker (bench/baseline): the service's required binding calls and nothing else; its
 * audit queue consumed by a second Worker running the same bundle, as the service's is.
 */
export async function startReference(built) {
  const config = path.join(root, "bench/baseline/wrangler.toml");
  const consumerConfig = path.join(root, "bench/baseline/consumer.wrangler.toml");
  const instance = await start("reference", {
    workers: [
      workerOptions(config, "qr-fallback-bench-baseline", built.reference),
      workerOptions(consumerConfig, "qr-fallback-bench-baseline-consumer", built.reference),
    ],
  });
  instance.auditDb = await instance.mf.getD1Database("AUDIT_DB", "qr-fallback-bench-baseline");
  await applyMigrations(instance.auditDb, path.join(root, "audit-consumer/migrations"));
  return instance;
}

/** An API token written straight into an instance's KV (as `npm run token` does). */
export async function putToken(instance, rpAppId, scopes, token = `qrf_bench_${randomBytes(16).toString("hex")}`) {
  const hash = Buffer.from(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token))).toString("hex");
  const admin = scopes.includes("admin");
  const record = {
    id: hash.slice(0, 16),
    rpAppId: admin ? null : rpAppId,
    scopes,
    label: "bench",
    createdAt: Date.now(),
    expiresAt: null,
  };
  await instance.kv.put(tokenKey(hash), JSON.stringify(record), { metadata: record });
  return token;
}
