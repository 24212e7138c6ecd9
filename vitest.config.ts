import { randomBytes } from "node:crypto";
import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

export default defineConfig(async () => {
  // The static-assets Worker's generated files (Swagger UI, public/openapi.json).
  await import("./scripts/vendor-assets.mjs");
  const migrations = await readD1Migrations(path.join(import.meta.dirname, "audit-consumer/migrations"));
  const controlMigrations = await readD1Migrations(path.join(import.meta.dirname, "migrations"));
  // A fresh secret per run (no secret lives in the repository), where wrangler looks for required secrets.
  const serverSecret = randomBytes(32).toString("hex");
  process.env.SERVER_SECRET = serverSecret;
  return {
    plugins: [
      cloudflareTest({
        // Both Workers in one test isolate: the main Worker's fetch/scheduled and the consumer's queue
        // handler, so a lookup can be followed through the real queue into the real D1.
        main: "./test/harness-worker.ts",
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            SERVER_SECRET: serverSecret,
            TEST_MIGRATIONS: migrations,
            TEST_CONTROL_MIGRATIONS: controlMigrations,
            // The shipped config leaves RP_URL empty (a deployment must set it).
            RP_URL: "https://qr.test",
            // Event hooks: the local sink is http://127.0.0.1, and retries back off from 1 s, not 10.
            EVENT_HOOKS_ALLOW_LOCAL: "true",
            EVENT_HOOK_RETRY_BASE_SECONDS: "1",
            // Ledger and audit hand-offs at once: loops of hundreds of lookups wait for each one's
            // waitUntil. The shipped lingers (LEDGER_BATCH_MS, AUDIT_BATCH_MS) have their own tests,
            // which set them.
            LEDGER_BATCH_MS: "0",
            AUDIT_BATCH_MS: "0",
            AUDIT_RETRY_MAX_DELAY_SECONDS: "1",
          },
          // The consumer's archive bucket (audit-consumer/wrangler.toml), for the retention tests.
          r2Buckets: ["AUDIT_ARCHIVE"],
          // The consumer's producer of event-hook deliveries (audit-consumer/wrangler.toml).
          queueProducers: { HOOK_QUEUE: { queueName: "qr-fallback-hooks" } },
          queueConsumers: {
            // A compressed schedule (AUDIT_RETRY_MAX_DELAY_SECONDS 1): three retries, then the dead-letter queue.
            "qr-fallback-audit": {
              maxBatchSize: 100,
              maxBatchTimeout: 0.05,
              maxRetries: 3,
              deadLetterQueue: "qr-fallback-audit-dlq",
            },
            "qr-fallback-audit-dlq": { maxBatchSize: 100, maxBatchTimeout: 0.05 },
            "qr-fallback-hooks": {
              maxBatchSize: 10,
              maxBatchTimeout: 0.05,
              maxRetries: 2,
              deadLetterQueue: "qr-fallback-hooks-dlq",
            },
            "qr-fallback-hooks-dlq": { maxBatchSize: 10, maxBatchTimeout: 0.05 },
          },
          // The static-assets Worker (static-assets/wrangler.toml), behind the main Worker's ASSETS binding.
          workers: [
            {
              name: "qr-fallback-static",
              modules: true,
              script: "export default { fetch() { return new Response(null, { status: 404 }); } };",
              compatibilityDate: "2026-04-01",
              assets: { directory: path.join(import.meta.dirname, "public"), routerConfig: { has_user_worker: false } },
            },
          ],
        },
      }),
    ],
    test: {
      include: ["test/**/*.test.ts", "src/**/*.test.ts", "common/**/*.test.ts", "audit-consumer/**/*.test.ts"],
      setupFiles: ["./test/setup.ts"],
      // A real local HTTP sink for the event-hook tests (Node, outside workerd).
      globalSetup: ["./test/hook-sink.mjs"],
      // A hang detector, not a speed check: tests that start attack mode take seconds alone and far
      // longer on a loaded 2-core machine.
      testTimeout: 120_000,
    },
  };
});
