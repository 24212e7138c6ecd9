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

/** Counts one failed lookup against the deployment-wide budget; throws the 503 if that tripped it. */
export async function reportFailedLookup(
  ns: DurableObjectNamespace<FailureBudget>,
  config: Pick<Config, "lockdown" | "tenantId">,
): Promise<void> {
  const state = await budget(ns).recordFailure({ ...config.lockdown, tenantId: config.tenantId });
  const now = Date.now();
  knownLockedUntil = state.lockedUntil;
  if (state.lockedUntil > now) throw lockdownError(state.lockedUntil, now);
}
