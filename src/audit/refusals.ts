import { log } from "../../common/log";
import { batcherPerBinding, CountBatcher } from "../lib/count-batcher";
import type { ClientLedger } from "../security/client-ledger";
import type { AuditScope } from "./producer";

/**
 * Refused lookups (rate limit, attack mode, bad body...) are not logged one by one: each isolate
 * counts them per client network and reason and hands the counts to that network's ClientLedger
 * (the keeper that already sees its failures), which writes at most one QR_FALLBACK_LOOKUPS_REFUSED
 * event per network, reason and minute. Batching: src/lib/count-batcher.ts.
 */
const refusalsOf = batcherPerBinding(
  (ns: DurableObjectNamespace<ClientLedger>) =>
    new CountBatcher<AuditScope>(
      (network, counts, scope) => ns.get(ns.idFromName(network)).recordRefusals(scope, network, counts),
      (network, err) =>
        log("warn", "refusal counts not handed off; kept for the next refusal", { network, error: String(err) }),
    ),
);

export function countRefusal(
  ns: DurableObjectNamespace<ClientLedger>,
  scope: AuditScope,
  network: string,
  reason: string,
  waitUntil: (p: Promise<unknown>) => void,
): void {
  if (!refusalsOf(ns).count(network, reason, scope, waitUntil)) {
    log("warn", "refusal counts dropped: too many networks pending", { network, reason });
  }
}
