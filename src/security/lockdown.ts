import type { Config } from "../config";
import { AppError, ErrorCode } from "../http/errors";
import type { FailureBudget } from "./failure-budget";

/**
 * What this isolate last heard of the lockdown. Successful lookups never ask the Durable Object;
 * failed ones report to it and learn the state from its answer. A lock is kept here until the end of
 * its cooldown, which the Durable Object fixes when the lock starts.
 */
let knownLockedUntil = 0;

/** Throws the 503 while this isolate knows of a lockdown in force. */
export function assertNotLockedDown(now = Date.now()): void {
  if (knownLockedUntil > now) throw lockdownError(knownLockedUntil, now);
}

function lockdownError(lockedUntil: number, now: number): AppError {
  return new AppError(
    ErrorCode.LOCKDOWN,
    "Activation-code lookups are paused after too many failed attempts; try again later.",
    Math.max(1, Math.ceil((lockedUntil - now) / 1000)),
  );
}

function budget(ns: DurableObjectNamespace<FailureBudget>) {
  return ns.get(ns.idFromName("global"));
}

/**
 * Failures this isolate has not reported yet, and whether a report is in flight. Concurrent failures
 * in one isolate are counted together: the request that finds no report in flight carries every
 * failure counted so far in one Durable Object call; the others add to the count and return. Under
 * a guessing flood that is one call per round trip per isolate instead of one per guess, which keeps
 * the single global object from becoming the bottleneck. A count may wait for the next failure to be
 * carried (the counts are best-effort anyway: see FailureBudget).
 */
let unreported = 0;
/** When the report in flight started (0: none). A report older than this is presumed lost. */
let reportStartedAt = 0;
const REPORT_ABANDONED_MS = 5_000;

/** Counts one failed lookup against the deployment-wide budget; throws the 503 if a lockdown is known. */
export async function reportFailedLookup(
  ns: DurableObjectNamespace<FailureBudget>,
  config: Pick<Config, "lockdown" | "tenantId">,
): Promise<void> {
  unreported++;
  const now = Date.now();
  // A report whose request was cancelled mid-call never clears its mark: after a while the next
  // failure reports anyway, so one lost call cannot silence this isolate's failures for good.
  if (reportStartedAt === 0 || now - reportStartedAt > REPORT_ABANDONED_MS) {
    const started = now;
    reportStartedAt = started;
    const count = unreported;
    unreported = 0;
    try {
      const state = await budget(ns).recordFailures({ ...config.lockdown, tenantId: config.tenantId }, count);
      knownLockedUntil = state.lockedUntil;
    } catch (err) {
      unreported += count; // carried by the next report
      throw err;
    } finally {
      if (reportStartedAt === started) reportStartedAt = 0;
    }
  }
  assertNotLockedDown();
}
