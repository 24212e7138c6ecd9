import { log } from "../../common/log";
import { CountBatcher } from "../lib/count-batcher";
import type { ClientLedger } from "../security/client-ledger";
import type { AuditScope } from "./producer";

/**
 * Refused lookups (rate limit, attack mode, bad body...) are not logged one by one: each isolate
 * counts them per client network and reason and hands the counts to that network's ClientLedger
 * (the keeper that already sees its failures), which writes at most one QR_FALLBACK_LOOKUPS_REFUSED
 * event per network, reason and minute. Batching: src/lib/count-batcher.ts.
 */
interface RefusalBatcher {
  ns: DurableObjectNamespace<ClientLedger>;
  scope: AuditScope;
  counts: CountBatcher;
}
let current: RefusalBatcher | null = null;

function batcherFor(ns: DurableObjectNamespace<ClientLedger>, scope: AuditScope): RefusalBatcher {
  let batcher = current;
  if (batcher?.ns !== ns) {
    const holder: RefusalBatcher = {
      ns,
      scope,
      counts: new CountBatcher(
        (key, counts) => ns.get(ns.idFromName(key)).recordRefusals(holder.scope, key, counts),
        (key, err) =>
          log("warn", "refusal counts not handed off; kept for the next refusal", { network: key, error: String(err) }),
      ),
    };
    batcher = holder;
    current = holder;
  }
  batcher.scope = scope; // the configuration of the latest request
  return batcher;
}

export function countRefusal(
  ns: DurableObjectNamespace<ClientLedger>,
  scope: AuditScope,
  network: string,
  reason: string,
  waitUntil: (p: Promise<unknown>) => void,
): void {
  if (!batcherFor(ns, scope).counts.count(network, reason, waitUntil)) {
    log("warn", "refusal counts dropped: too many networks pending", { network, reason });
  }
}
