import { log } from "../../common/log";
import type { Config } from "../config";
import { batcherPerBinding, CountBatcher } from "../lib/count-batcher";
import type { ClientLedger } from "../security/client-ledger";
import type { AuditScope } from "./event";

type RefusalReportSettings = { scope: AuditScope; batchMs: number };

/**
 * Refused lookups (rate limit, attack mode, bad body...) are not logged one by one: each isolate
 * counts them per client network and reason and hands the counts to that network's ClientLedger
 * (the keeper that already sees its failures), which writes at most one QR_FALLBACK_LOOKUPS_REFUSED
 * event per network, reason and minute. Batching (LEDGER_BATCH_MS): src/lib/count-batcher.ts.
 */
const refusalsOf = batcherPerBinding(
  (ns: DurableObjectNamespace<ClientLedger>) =>
    new CountBatcher<RefusalReportSettings>(
      (network, counts, { scope }) => ns.get(ns.idFromName(network)).recordRefusals(scope, network, counts),
      (network, err) =>
        log("warn", "refusal counts not handed off; kept for the next refusal", { network, error: String(err) }),
      (settings) => settings.batchMs,
    ),
);

export function countRefusal(
  ns: DurableObjectNamespace<ClientLedger>,
  config: Pick<Config, "tenantId" | "securityAppId" | "guessing">,
  network: string,
  reason: string,
  waitUntil: (p: Promise<unknown>) => void,
): void {
  // Only the scope travels to (and is stored by) the ledger: never the rest of the configuration.
  const settings = {
    scope: { tenantId: config.tenantId, securityAppId: config.securityAppId },
    batchMs: config.guessing.ledgerBatchMs,
  };
  if (!refusalsOf(ns).count(network, reason, settings, waitUntil)) {
    log("warn", "refusal counts dropped: too many networks pending", { network, reason });
  }
}
