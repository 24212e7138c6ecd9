import { log } from "../../common/log";
import type { ClientLedger } from "../security/client-ledger";
import type { AuditScope } from "./producer";

/**
 * Refused lookups (rate limit, attack mode, bad body...) are not logged one by one: each isolate
 * counts them per client network and reason and hands the counts to that network's ClientLedger
 * (the keeper that already sees its failures), which writes at most one QR_FALLBACK_LOOKUPS_REFUSED
 * event per network, reason and minute. One hand-off per network is in flight at a time; what
 * arrives meanwhile rides on the next one, inside the same `waitUntil`. Counts are lost only if the
 * runtime dies with a hand-off pending (a failed one is kept for the next refusal to carry).
 */
const pending = new Map<string, Map<string, number>>();
const inFlight = new Set<string>();
const MAX_PENDING_NETWORKS = 10_000;

export function countRefusal(
  ns: DurableObjectNamespace<ClientLedger>,
  scope: AuditScope,
  network: string,
  reason: string,
  waitUntil: (p: Promise<unknown>) => void,
): void {
  if (pending.size >= MAX_PENDING_NETWORKS && !pending.has(network)) {
    log("warn", "refusal counts dropped: too many networks pending", { network, reason });
    return;
  }
  const counts = pending.get(network) ?? new Map<string, number>();
  counts.set(reason, (counts.get(reason) ?? 0) + 1);
  pending.set(network, counts);
  if (!inFlight.has(network)) waitUntil(handOff(ns, scope, network));
}

async function handOff(ns: DurableObjectNamespace<ClientLedger>, scope: AuditScope, network: string) {
  inFlight.add(network);
  try {
    for (let counts = pending.get(network); counts; counts = pending.get(network)) {
      pending.delete(network);
      try {
        await ns.get(ns.idFromName(network)).recordRefusals(scope, network, Object.fromEntries(counts));
      } catch (err) {
        const now = pending.get(network) ?? new Map<string, number>();
        for (const [reason, n] of counts) now.set(reason, (now.get(reason) ?? 0) + n);
        pending.set(network, now);
        log("warn", "refusal counts not handed off; kept for the next refusal", { network, error: String(err) });
        return;
      }
    }
  } finally {
    inFlight.delete(network);
  }
}
