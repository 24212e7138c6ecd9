import { createMiddleware } from "hono/factory";
import { log } from "../../common/log";
import type { AppEnv } from "../http/context";
import { AppError, ErrorCode } from "../http/errors";
import { batcherPerBinding, CountBatcher } from "../lib/count-batcher";
import { clientKeysOf, type LookupClient } from "../lib/ip";
import type { ClientLedger, LedgerCaps } from "./client-ledger";

/** The Rate Limiting bindings count per period of this many seconds (see wrangler.toml). */
export const RATE_LIMIT_PERIOD_SECONDS = 60;

export function lookupClientOf(req: Request): LookupClient {
  return clientKeysOf(req.headers.get("cf-connecting-ip"));
}

/**
 * Daily blocks this isolate has learned from the ledger (client or network key -> until). The ledger
 * answers after each failure, so another isolate lets a blocked client through until it too has seen
 * one failure of it: the overshoot is bounded by the isolates a client reaches, each capped per minute.
 */
const blocked = new Map<string, number>();
const MAX_BLOCKS = 50_000;

/**
 * Drops the blocks that are over; when every block is live, the ones that end soonest. A block
 * dropped early costs at most one more failure of that client, which the ledger counts and answers
 * with the block again.
 */
function forgetExpiredBlocks(now = Date.now()): void {
  for (const [key, until] of blocked) if (until <= now) blocked.delete(key);
  if (blocked.size < MAX_BLOCKS) return;
  const soonest = [...blocked].sort((a, b) => a[1] - b[1]).slice(0, Math.ceil(MAX_BLOCKS / 10));
  for (const [key] of soonest) blocked.delete(key);
}

function rateLimited(message: string, retryAfterSeconds = RATE_LIMIT_PERIOD_SECONDS): AppError {
  return new AppError(ErrorCode.RATE_LIMITED, message, retryAfterSeconds);
}

/**
 * Lookups are limited per client and per network (Rate Limiting bindings, per minute), and refused
 * for the rest of the day once the client or its network has spent its daily failures.
 */
export const limitLookups = createMiddleware<AppEnv>(async (c, next) => {
  const who = lookupClientOf(c.req.raw);
  c.set("lookupClient", who);
  const now = Date.now();
  for (const key of [who.client, `net:${who.network}`]) {
    const until = blocked.get(key) ?? 0;
    if (until > now) {
      throw rateLimited(
        "Too many failed lookups from this network today; try again later.",
        Math.ceil((until - now) / 1000),
      );
    }
    if (until) blocked.delete(key);
  }
  const [client, network] = await Promise.all([
    c.env.LOOKUP_LIMITER.limit({ key: who.client }),
    c.env.NETWORK_LOOKUP_LIMITER.limit({ key: who.network }),
  ]);
  if (!client.success) throw rateLimited("Too many lookups from this address; try again later.");
  if (!network.success) throw rateLimited("Too many lookups from this network; try again later.");
  await next();
});

/** What a failure hand-off needs: the caps (the ledger applies them) and the linger (LEDGER_BATCH_MS). */
export type FailureReportSettings = LedgerCaps & { batchMs: number };

/**
 * Counts a failed lookup of a well-formed code in the client's network ledger, batched per network
 * and LEDGER_BATCH_MS (src/lib/count-batcher.ts), and learns the blocks the ledger answers with.
 */
const failuresOf = batcherPerBinding(
  (ns: DurableObjectNamespace<ClientLedger>) =>
    new CountBatcher<FailureReportSettings>(
      async (network, counts, { clientDailyFailures, networkDailyFailures }) => {
        const caps: LedgerCaps = { clientDailyFailures, networkDailyFailures };
        const answer = await ns.get(ns.idFromName(network)).recordFailures(caps, counts);
        if (blocked.size >= MAX_BLOCKS) forgetExpiredBlocks();
        for (const [client, until] of Object.entries(answer.clientsBlockedUntil)) if (until) blocked.set(client, until);
        if (answer.networkBlockedUntil) blocked.set(`net:${network}`, answer.networkBlockedUntil);
      },
      (network, err) =>
        log("warn", "failed lookups not recorded in the client ledger", { network, error: String(err) }),
      (settings) => settings.batchMs,
    ),
);

export function recordFailedLookup(
  ns: DurableObjectNamespace<ClientLedger>,
  settings: FailureReportSettings,
  who: LookupClient,
  waitUntil: (p: Promise<unknown>) => void,
): void {
  failuresOf(ns).count(who.network, who.client, settings, waitUntil);
}

/** Creations are limited per token (runs after the token is resolved). */
export const limitCreates = createMiddleware<AppEnv>(async (c, next) => {
  const { success } = await c.env.CREATE_LIMITER.limit({ key: `token:${c.get("principal").id}` });
  if (!success) throw rateLimited("Too many QR codes created with this token; try again later.");
  await next();
});
