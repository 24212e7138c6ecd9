import type { CodeClass, Config } from "../config";
import { AppError, ErrorCode } from "../http/errors";
import { joinShared } from "../lib/shared-promise";
import type { AttackState, BudgetSettings, GuessBudget, Lease } from "./guess-budget";

/**
 * This isolate's share of the deployment-wide guess budget (GuessBudget). A lookup evaluates a code
 * only while holding a unit: a wrong code spends it, a right one gives it back. Units come in leases
 * of up to LEASE_WANT, asked for once a pool runs low (in the background while units remain, so a
 * lookup waits for the Durable Object only when its isolate has none left). A lease that cannot be
 * had fails closed: the code is not evaluated.
 */

/**
 * Units asked for at a time. The keeper grants at most a sixteenth of what is left, so with the
 * shipped budget (300 a minute) a lease is 18 units or fewer whatever this says; the cap matters for
 * large budgets (the long class, 500,000 a minute), where a keeper call per 64 guesses instead of per
 * 16 is what keeps a flood of evaluated guesses off the keeper. A refill starts at a quarter left.
 */
const LEASE_WANT = 64;
const REFILL_BELOW = 16;
/**
 * A lease is good for this long; its unused units (and units given back after it lapsed) are handed
 * back to the keeper with the next lease request, so budget is spent only by wrong codes. Units of an
 * isolate that dies are never handed back: they stay counted (attack mode comes early, never late).
 */
const LEASE_MS = 10_000;
/** Refusals in attack mode are reported at most this often per isolate and class (they prolong it). */
const REFUSAL_REPORT_MS = 10_000;
/** The create path re-asks the attack state when what this isolate knows is older than this. */
export const ATTACK_STATE_FRESH_MS = 5_000;

interface Pool {
  units: number;
  expiresAt: number;
  /** Unused units of lapsed leases, handed back with the next request. */
  unused: number;
  inflight: Promise<number> | null;
}
interface IsolateShare {
  pools: Record<CodeClass, Pool>;
  /** When this isolate last told the keeper it refused guesses of a class in attack mode. */
  refusalReportedAt: Record<CodeClass, number>;
  attack: AttackState;
  attackKnownAt: number;
  refresh: Promise<void> | null;
}

type BudgetNamespace = DurableObjectNamespace<GuessBudget>;
// Keyed by the binding, so a test that wraps the namespace gets a share of its own.
const shares = new WeakMap<BudgetNamespace, IsolateShare>();

function shareOf(ns: BudgetNamespace): IsolateShare {
  let share = shares.get(ns);
  if (!share) {
    const pool = (): Pool => ({ units: 0, expiresAt: 0, unused: 0, inflight: null });
    share = {
      pools: { normal: pool(), long: pool() },
      refusalReportedAt: { normal: 0, long: 0 },
      attack: { normal: 0, long: 0 },
      attackKnownAt: 0,
      refresh: null,
    };
    shares.set(ns, share);
  }
  return share;
}

const keeper = (ns: BudgetNamespace) => ns.get(ns.idFromName("global"));

export function budgetSettings(config: Pick<Config, "guessing" | "tenantId" | "securityAppId">): BudgetSettings {
  return {
    budgets: config.guessing.budgets,
    cooldownSeconds: config.guessing.cooldownSeconds,
    scope: { tenantId: config.tenantId, securityAppId: config.securityAppId },
  };
}

function learn(share: IsolateShare, attack: AttackState, now: number): void {
  share.attack = attack;
  share.attackKnownAt = now;
  // What is learned of attack mode clears what was held for that class: no unit outlives a lock.
  for (const cls of ["normal", "long"] as const) if (attack[cls] > now) lapse(share.pools[cls]);
}

/** Ends the pool's lease: what it still holds goes back to the keeper with the next request. */
function lapse(pool: Pool): void {
  pool.unused += pool.units;
  pool.units = 0;
}

function attackModeError(until: number, now: number): AppError {
  return new AppError(
    ErrorCode.ATTACK_MODE,
    "Lookups of codes of this length are paused while the service is under attack; ask for a new code.",
    Math.max(1, Math.ceil((until - now) / 1000)),
  );
}

/** Asks the keeper for a lease (one request in flight per class); resolves to the units granted. */
function refill(ns: BudgetNamespace, settings: BudgetSettings, cls: CodeClass): Promise<number> {
  const share = shareOf(ns);
  const pool = share.pools[cls];
  pool.inflight ??= (async () => {
    try {
      if (pool.expiresAt <= Date.now()) lapse(pool);
      const unused = pool.unused;
      pool.unused = 0;
      let lease: Lease;
      try {
        lease = await keeper(ns).lease(settings, cls, LEASE_WANT, unused);
      } catch (err) {
        pool.unused += unused;
        throw err;
      }
      const now = Date.now();
      if (pool.expiresAt <= now) lapse(pool);
      pool.units += lease.granted;
      pool.expiresAt = now + LEASE_MS;
      learn(share, lease.attack, now);
      return lease.granted;
    } finally {
      pool.inflight = null;
    }
  })();
  return pool.inflight;
}

/** A unit of budget held by one lookup: `giveBack()` when the code was right (it spent nothing). */
export interface HeldGuess {
  giveBack(): void;
}

/**
 * Waits for one unit of `cls` budget. Throws 503 ATTACK_MODE while attack mode is on for the class,
 * and 503 GUESS_BUDGET_UNAVAILABLE when the keeper cannot be reached (fail closed).
 */
export async function holdGuess(
  ns: BudgetNamespace,
  settings: BudgetSettings,
  cls: CodeClass,
  waitUntil: (p: Promise<unknown>) => void,
): Promise<HeldGuess> {
  const share = shareOf(ns);
  const pool = share.pools[cls];
  for (;;) {
    const now = Date.now();
    if (share.attack[cls] > now) {
      if (now - share.refusalReportedAt[cls] > REFUSAL_REPORT_MS) {
        share.refusalReportedAt[cls] = now;
        waitUntil(
          keeper(ns)
            .refused(cls)
            .then((attack) => learn(share, attack, Date.now()))
            .catch(() => undefined),
        );
      }
      throw attackModeError(share.attack[cls], now);
    }
    if (pool.expiresAt <= now) lapse(pool);
    if (pool.units > 0) {
      pool.units--;
      if (pool.units < REFILL_BELOW && !pool.inflight) waitUntil(refill(ns, settings, cls).catch(() => undefined));
      const expiresAt = pool.expiresAt;
      return {
        giveBack: () => {
          if (pool.expiresAt === expiresAt && expiresAt > Date.now()) pool.units++;
          else pool.unused++;
        },
      };
    }
    let granted: number;
    try {
      granted = await joinShared(refill(ns, settings, cls));
    } catch {
      throw new AppError(
        ErrorCode.GUESS_BUDGET_UNAVAILABLE,
        "Activation-code lookups are unavailable for a moment; try again.",
        5,
      );
    }
    // A lease that granted nothing without attack mode would loop: refuse instead.
    if (granted === 0 && share.attack[cls] <= Date.now()) {
      throw new AppError(ErrorCode.GUESS_BUDGET_UNAVAILABLE, "Activation-code lookups are unavailable; try again.", 5);
    }
  }
}

/**
 * Whether codes issued now must be long. What this isolate knows is at most ATTACK_STATE_FRESH_MS
 * old (plus one round trip): older, it asks the keeper first. When the keeper cannot be reached,
 * long codes are issued (they work in either mode).
 */
export async function issueLongCodes(ns: BudgetNamespace, now = Date.now()): Promise<boolean> {
  const share = shareOf(ns);
  if (now - share.attackKnownAt > ATTACK_STATE_FRESH_MS) {
    share.refresh ??= keeper(ns)
      .state()
      .then((attack) => learn(share, attack, Date.now()))
      .finally(() => {
        share.refresh = null;
      });
    try {
      await joinShared(share.refresh);
    } catch {
      return true;
    }
  }
  return share.attack.normal > Date.now();
}

/** Attack mode as the keeper holds it now, per code class (epoch ms it lasts until; 0 = off). */
export function attackModeNow(ns: BudgetNamespace) {
  return keeper(ns).state();
}
