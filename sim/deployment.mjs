// One simulated deployment: the real Worker bundle run as `workers` Miniflare Workers (each its own
// isolate) sharing one KV namespace, the D1 databases, the queues and the Durable Objects, as on
// Cloudflare. A router Worker in front sends each request to the Worker (and simulated isolate) the
// load generator names, so one HTTP port reaches every isolate. sim/README.md says what is modelled.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { applyMigrations, putToken } from "../bench/lib/instances.mjs";
import { bundleWorker, root } from "../scripts/wrangler.mjs";

const MAIN = "qr-fallback";
const CONSUMER = "qr-fallback-audit-consumer";

/** Bundles sim/entry.ts (src/index.ts + simulated isolates) as `wrangler deploy` would; returns its path. */
export function buildSimBundle(outdir) {
  return {
    main: bundleWorker(path.join(root, "wrangler.toml"), path.join(outdir, "main"), { entry: "sim/entry.ts" }),
    consumer: bundleWorker(path.join(root, "audit-consumer/wrangler.toml"), path.join(outdir, "consumer")),
  };
}

function optionsOf(configPath, name, script, overrides = {}) {
  const { workerOptions } = unstable_getMiniflareWorkerOptions(configPath);
  return {
    ...workerOptions,
    name,
    modules: true,
    modulesRoot: path.dirname(script),
    scriptPath: script,
    ...overrides,
    bindings: { ...workerOptions.bindings, ...overrides.bindings },
  };
}

/**
 * Starts a deployment of `workers` Workers. `vars` override the shipped configuration. Returns the
 * base URL, `request(path, init, at)` that sends a request to the Worker and simulated isolate `at`
 * names, tokens, and `stop()`.
 */
export async function startDeployment(bundle, { workers, vars = {} }) {
  const persist = mkdtempSync(path.join(process.env.SIM_TMP ?? tmpdir(), "qrf-sim-"));
  const wranglerToml = path.join(root, "wrangler.toml");
  const base = optionsOf(wranglerToml, MAIN, bundle.main, {
    bindings: { RP_URL: "https://qr.example.com", SERVER_SECRET: randomBytes(32).toString("hex"), ...vars },
  });
  const shared = Object.fromEntries(
    Object.entries(base.durableObjects ?? {}).map(([binding, spec]) => [
      binding,
      { className: typeof spec === "string" ? spec : spec.className, scriptName: MAIN },
    ]),
  );
  const mains = Array.from({ length: workers }, (_, i) =>
    i === 0
      ? base
      : { ...base, name: `${MAIN}-${i}`, durableObjects: shared, queueConsumers: undefined, triggers: undefined },
  );
  const router = {
    name: "sim-router",
    modules: true,
    script: `export default { fetch(request, env) {
      const to = Number(request.headers.get("x-sim-worker") ?? 0);
      return env["W" + to].fetch(request);
    } };`,
    serviceBindings: Object.fromEntries(mains.map((w, i) => [`W${i}`, w.name])),
  };
  const consumer = optionsOf(path.join(root, "audit-consumer/wrangler.toml"), CONSUMER, bundle.consumer);
  const staticStub = {
    name: "qr-fallback-static",
    modules: true,
    script: "export default { fetch() { return new Response(null, { status: 404 }); } };",
  };
  const mf = new Miniflare({
    host: "127.0.0.1",
    port: 0,
    defaultPersistRoot: persist,
    workers: [router, ...mains, consumer, staticStub],
  });
  const url = (await mf.ready).toString().replace(/\/$/, "");
  await applyMigrations(await mf.getD1Database("AUDIT_DB", MAIN), path.join(root, "audit-consumer/migrations"));
  await applyMigrations(await mf.getD1Database("CONTROL_DB", MAIN), path.join(root, "migrations"));
  const kv = await mf.getKVNamespace("QR_KV", MAIN);
  const auditDb = await mf.getD1Database("AUDIT_DB", MAIN);
  const token = (rpAppId, scopes) => putToken({ kv }, rpAppId, scopes);
  return {
    url,
    workers,
    auditDb,
    token,
    /** `at`: { worker, isolate } (isolate: a simulated isolate's name, or none for the Worker's own). */
    request(pathname, init, at) {
      const headers = new Headers(init.headers);
      headers.set("x-sim-worker", String(at.worker));
      if (at.isolate) headers.set("x-sim-isolate", at.isolate);
      return fetch(url + pathname, { ...init, headers });
    },
    /** RPC calls the keeper and each claim object (by name) received so far, by method (sim/entry.ts). */
    async objectCalls() {
      const res = await fetch(`${url}/__sim/object-calls`, { headers: { "x-sim-worker": "0" } });
      return res.json();
    },
    async stop() {
      await mf.dispose().catch(() => {});
      rmSync(persist, { recursive: true, force: true });
    },
  };
}
