// The audit queue's shipped retry schedule outlasts a 10-minute database outage in every environment:
// the consumer's max_retries (wrangler's own reading of its config) with AUDIT_RETRY_MAX_DELAY_SECONDS.
import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { OUTAGE_RIDDEN_OUT_SECONDS, retrySpanSeconds } from "../../common/audit-retry.js";
import { varOf } from "../../common/config-vars.js";
import { root } from "../../scripts/wrangler.mjs";

for (const env of [undefined, "staging", "production"]) {
  test(`${env ?? "top level"}: audit retries span at least ${OUTAGE_RIDDEN_OUT_SECONDS} s before the dead-letter queue`, () => {
    const { workerOptions } = unstable_getMiniflareWorkerOptions(path.join(root, "audit-consumer/wrangler.toml"), env);
    const consumers = /** @type {Record<string, { maxRetries?: number, deadLetterQueue?: string }>} */ (
      workerOptions.queueConsumers
    );
    const audit = Object.values(consumers).find((c) => c.deadLetterQueue?.startsWith("qr-fallback-audit-dlq"));
    assert.ok(audit, "the audit queue has a dead-letter queue");
    assert.ok(audit.deadLetterQueue in consumers, "and the consumer consumes it");
    const cap = Number(varOf(workerOptions.bindings, "AUDIT_RETRY_MAX_DELAY_SECONDS"));
    assert.ok(retrySpanSeconds(audit.maxRetries ?? 3, cap) >= OUTAGE_RIDDEN_OUT_SECONDS);
  });
}
