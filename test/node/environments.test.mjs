// Each deployed configuration runs: the main Worker's deploy bundle and the audit consumer's, under the
// bindings wrangler derives for the top level, staging and production (queue, database and service
// names included), in one Miniflare. A smoke flow per environment: create, lookup, the retrieval event
// in D1, and an event-hook delivery whose receiver is down going to that environment's dead-letter
// queue and being recorded on the hook. Run by `npm test` (node --test).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { applyMigrations, putToken } from "../../bench/lib/instances.mjs";
import { bundleWorker, root } from "../../scripts/wrangler.mjs";

const ENVIRONMENTS = [undefined, "staging", "production"];
/** How long a step may take before the test gives up (queues batch for up to a second, hooks retry after one). */
const DEADLINE_MS = 60_000;
const work = mkdtempSync(path.join(tmpdir(), "qrf-envs-"));
/** @type {{ main: string, consumer: string }} */
let bundles;

before(() => {
  bundles = {
    main: bundleWorker(path.join(root, "wrangler.toml"), path.join(work, "main")),
    consumer: bundleWorker(path.join(root, "audit-consumer/wrangler.toml"), path.join(work, "consumer")),
  };
});
after(() => rmSync(work, { recursive: true, force: true }));

/**
 * A Worker's Miniflare options as wrangler derives them for `env`, running `script`.
 * @param {string} config @param {string | undefined} env @param {string} script @returns {any}
 */
function optionsOf(config, env, script) {
  const { workerOptions } = unstable_getMiniflareWorkerOptions(path.join(root, config), env);
  return { ...workerOptions, modules: true, modulesRoot: path.dirname(script), scriptPath: script };
}

/**
 * Polls `check` until it returns a value (not a fixed sleep: it returns as soon as the state is there).
 * @template T @param {string} what @param {() => Promise<T>} check @returns {Promise<NonNullable<T>>}
 */
async function eventually(what, check) {
  const until = Date.now() + DEADLINE_MS;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > until) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

for (const env of ENVIRONMENTS) {
  test(`${env ?? "top level"}: create, lookup, the event in D1, a failing hook dead-lettered and recorded`, async () => {
    const main = optionsOf("wrangler.toml", env, bundles.main);
    const consumer = optionsOf("audit-consumer/wrangler.toml", env, bundles.consumer);
    /** @type {string} */
    const hooksQueue = Object.keys(main.queueConsumers).find((q) => main.queueConsumers[q].deadLetterQueue) ?? "";
    const deadLetterQueue = main.queueConsumers[hooksQueue].deadLetterQueue;
    assert.ok(deadLetterQueue in main.queueConsumers, "the main Worker consumes its hooks' dead-letter queue");
    let receiverCalls = 0;
    const mf = new Miniflare({
      workers: [
        {
          ...main,
          name: "qr-fallback",
          bindings: {
            ...main.bindings,
            // What a deployment sets outside the config: its URL and its secret.
            RP_URL: "https://qr.example.com",
            SERVER_SECRET: randomBytes(32).toString("hex"),
            // A compressed retry schedule (1 s, one retry); queue names stay the environment's.
            EVENT_HOOK_RETRY_BASE_SECONDS: "1",
          },
          queueConsumers: {
            ...main.queueConsumers,
            [hooksQueue]: { ...main.queueConsumers[hooksQueue], maxRetries: 1, maxBatchTimeout: 0.05 },
            [deadLetterQueue]: { ...main.queueConsumers[deadLetterQueue], maxBatchTimeout: 0.05 },
          },
          // Every outbound request is the hook's receiver, and it is down.
          outboundService: () => {
            receiverCalls++;
            return new Response("receiver down", { status: 503 });
          },
        },
        { ...consumer, name: "qr-fallback-audit-consumer" },
        {
          name: main.serviceBindings.ASSETS.name,
          modules: true,
          script: "export default { fetch() { return new Response(null, { status: 404 }); } };",
        },
      ],
    });
    try {
      await mf.ready;
      const db = (/** @type {string} */ binding) => mf.getD1Database(binding, "qr-fallback");
      await applyMigrations(await db("AUDIT_DB"), path.join(root, "audit-consumer/migrations"));
      await applyMigrations(await db("CONTROL_DB"), path.join(root, "migrations"));
      const kv = await mf.getKVNamespace("QR_KV", "qr-fallback");
      const admin = await putToken({ kv }, null, ["admin"]);
      const workstation = await putToken({ kv }, "SmokeApp", ["qr:create"]);
      /** @type {(method: string, pathname: string, body?: object, token?: string) => Promise<{ status: number, json: any }>} */
      const call = async (method, pathname, body, token) => {
        /** @type {Record<string, string>} */
        const headers = { "content-type": "application/json", "cf-connecting-ip": "198.51.100.7" };
        if (token) headers.authorization = `Bearer ${token}`;
        const res = await mf.dispatchFetch(`https://qr.example.com${pathname}`, {
          method,
          headers,
          body: body && JSON.stringify(body),
        });
        /** @type {any} */
        const json = await res.json().catch(() => null);
        return { status: res.status, json };
      };

      const hook = await call(
        "POST",
        "/cc/api/eventhooks",
        { name: "smoke", eventType: "ALL", invocationEndpoint: "https://siem.example.com/hook" },
        admin,
      );
      assert.equal(hook.status, 201, JSON.stringify(hook.json));
      const created = await call(
        "POST",
        "/rp/versioned/client/qr/create",
        { includeQRFallbackCode: true },
        workstation,
      );
      assert.equal(created.status, 200, JSON.stringify(created.json));
      const code = created.json.qrFallbackActivationCode;
      const looked = await call("POST", "/rp/versioned/device/pendingqr", { activationCode: code });
      assert.equal(looked.status, 200, JSON.stringify(looked.json));
      assert.equal(looked.json.qrCode, created.json.qrCode);

      const auditDb = await db("AUDIT_DB");
      const event = await eventually("the retrieval event in D1", async () =>
        auditDb
          .prepare(
            "SELECT json_extract(body, '$.tenantId') AS tenantId FROM audit_events WHERE eventName = 'QR_FALLBACK_PAYLOAD_RETRIEVED' AND isSuccessful = 1",
          )
          .first(),
      );
      assert.equal(event.tenantId, env ?? "local");
      const recorded = await eventually("the dead-lettered deliveries recorded on the hook", async () => {
        const listed = await call("GET", "/cc/api/eventhooks", undefined, admin);
        const status = listed.json?.find((/** @type {any} */ h) => h.id === hook.json.id)?.status;
        return status?.deadLettered > 0 ? status : null;
      });
      assert.ok(recorded.deadLettered >= 1);
      assert.ok(receiverCalls >= 2, `the receiver was tried and retried (${receiverCalls} calls)`);
    } finally {
      await mf.dispose();
    }
  });
}
