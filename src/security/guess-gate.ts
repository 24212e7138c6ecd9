import { type BudgetSettings, type Grant, type GuessBudget, UNITS_LEASE_MS } from "./guess-budget";

/** Units a claim shard tries to hold, so that a lookup rarely waits for the keeper. */
export const UNITS_WANTED = 2;
/** A shard refusing in attack mode reports its refusals this often (they hold attack mode on). */
export const REFUSAL_REPORT_MS = 10_000;
/**
 * Before issuing a normal-length code, a shard re-asks the keeper when what it knows is older: a
 * create learns attack mode within a second, at most one keeper call a second per shard.
 */
export const ATTACK_STATE_FRESH_MS = 1_000;
/**
 * A gate re-asks the keeper at a random moment up to this long past the end of attack mode it was
 * told: hundreds of objects (every region's 64 attack checks) must not all ask in the same second
 * each time the keeper re-decides. Normal-length codes stay refused that much longer at most.
 */
export const ATTACK_RECHECK_SPREAD_MS = 3_000;

/** A lookup gives up (503 GUESS_BUDGET_UNAVAILABLE) after this many keeper calls that left it no unit. */
const MAX_KEEPER_CALLS = 20;

export type Admission = { admitted: true } | { admitted: false; attackUntil: number } | { admitted: false };

/**
 * A claim shard's share of the guess budget (GuessBudget). The shard evaluates a normal-length code
 * only with a unit `admit` took for it (attack mode off), then `spend`s it when the code was wrong
 * or gives it back; a right code spends nothing. Units and unreported spends are
 * stored in the shard's SQLite, so an eviction loses neither; no isolate holds any budget.
 */
export class GuessGate {
  private units = 0;
  /** Units taken by lookups being evaluated right now: held until spent or given back. */
  private reserved = 0;
  private spentUnreported = 0;
  private refusedUnreported = 0;
  private attackUntil = 0;
  private knownAt = 0;
  private reportedAt = 0;
  private syncing: Promise<number> | null = null;
  /** Lookups waiting for the keeper: the shard asks for enough units for them. */
  private waiting = 0;
  /** What the gate table holds. */
  private storedUnits = 0;
  private storedSpent = 0;

  constructor(
    private readonly sql: SqlStorage,
    private readonly shardName: string,
    private readonly keeperOf: (name: string) => DurableObjectStub<GuessBudget>,
  ) {
    sql.exec("CREATE TABLE IF NOT EXISTS gate (k TEXT PRIMARY KEY NOT NULL, v INTEGER NOT NULL) WITHOUT ROWID");
    for (const row of sql.exec<{ k: string; v: number }>("SELECT k, v FROM gate")) {
      if (row.k === "units") this.units = row.v;
      if (row.k === "spent") this.spentUnreported = row.v;
    }
    this.storedUnits = this.units;
    this.storedSpent = this.spentUnreported;
  }

  /** Waits until one normal-length code may be evaluated here, or says why not (attack mode, keeper unreachable). */
  async admit(settings: BudgetSettings): Promise<Admission> {
    for (let calls = 0; calls < MAX_KEEPER_CALLS; ) {
      const now = Date.now();
      if (this.attackUntil > now) {
        // Refusals keep attack mode on only if the keeper hears of them: report them every so often.
        if (calls === 0 && now - this.reportedAt >= REFUSAL_REPORT_MS) {
          calls++;
          await this.sync(settings).catch(() => undefined);
          continue;
        }
        this.refusedUnreported++;
        return { admitted: false, attackUntil: this.attackUntil };
      }
      if (this.units > 0 && now - this.knownAt > UNITS_LEASE_MS) {
        this.units = 0; // the lease ran out (or this instance never heard from the keeper): ask again
        this.store();
      }
      // Attack mode this shard knew of has run out: only the keeper knows whether it goes on.
      if (this.units > 0 && this.attackUntil === 0) {
        this.units--;
        this.reserved++;
        return { admitted: true };
      }
      calls++;
      this.waiting++;
      try {
        // Units granted to this shard may be taken by the lookups that waited with this one: ask again.
        // No unit and no attack mode twice (the second call asked for the waiting lookups): fail closed.
        if ((await this.sync(settings)) === 0 && this.units === 0 && this.attackUntil <= Date.now() && calls >= 2)
          break;
      } catch {
        break;
      } finally {
        this.waiting--;
      }
    }
    return { admitted: false };
  }

  /**
   * Whether a normal-length lookup would be refused now, taking no unit: a refusal is counted (and
   * reported every REFUSAL_REPORT_MS, like admit's), and what is known is refreshed from the keeper
   * when it is over ATTACK_STATE_FRESH_MS old. Asked first by isolates that saw attack mode, at an
   * object of their own region that may hold no claims: it must not split the budget's units.
   */
  async check(settings: BudgetSettings): Promise<Admission> {
    const now = Date.now();
    // Attack mode known: report every so often. Else re-ask when what is known is old, or is an end
    // that has passed (only the keeper knows whether it goes on).
    const due =
      this.attackUntil > now
        ? now - this.reportedAt >= REFUSAL_REPORT_MS
        : now - this.knownAt > ATTACK_STATE_FRESH_MS || this.attackUntil !== 0;
    if (due) {
      try {
        await this.sync(settings, 0);
      } catch {
        if (this.attackUntil <= Date.now()) return { admitted: false }; // cannot tell: fail closed
      }
    }
    if (this.attackUntil > Date.now()) {
      this.refusedUnreported++;
      return { admitted: false, attackUntil: this.attackUntil };
    }
    return { admitted: true };
  }

  /** Whether refusals or spends wait to be reported (the shard's alarm reports them). */
  get unreported(): boolean {
    return this.refusedUnreported > 0 || this.spentUnreported > 0;
  }

  /** Reports what waits to be reported (the shard's alarm: refusals hold attack mode only once reported). */
  async flush(settings: BudgetSettings): Promise<void> {
    if (this.unreported) await this.sync(settings);
  }

  /** The admitted code was right (or not a guess): its unit goes back to the shard's pool. */
  giveBack(): void {
    this.reserved--;
    this.units++;
  }

  /** The admitted code was wrong: its unit is spent (reported to the keeper with the next call). */
  spend(settings: BudgetSettings): void {
    this.reserved--;
    this.spentUnreported++;
    this.store();
    if (this.units < UNITS_WANTED) this.syncInBackground(settings);
  }

  /** Whether normal-length codes are refused now, asking the keeper when what is known is stale. */
  async attackOn(settings: BudgetSettings): Promise<boolean> {
    if (
      Date.now() - this.knownAt > ATTACK_STATE_FRESH_MS ||
      (this.attackUntil !== 0 && this.attackUntil <= Date.now())
    ) {
      try {
        await this.sync(settings);
      } catch {
        return true; // the keeper unreachable: issue long codes, which work either way
      }
    }
    return this.attackUntil > Date.now();
  }

  private syncInBackground(settings: BudgetSettings) {
    this.sync(settings).catch(() => undefined);
  }

  /**
   * One keeper call at a time: reports spends and refusals, and tops the units up to `want` (0 from
   * check, which evaluates nothing); resolves to the units granted.
   */
  private sync(settings: BudgetSettings, want = UNITS_WANTED): Promise<number> {
    this.syncing ??= (async () => {
      try {
        // Units past their lease are not this shard's any more (the keeper may have given them to
        // another): they are dropped before being reported as held.
        if (this.units > 0 && Date.now() - this.knownAt > UNITS_LEASE_MS) {
          this.units = 0;
          this.store();
        }
        // Units beyond what the shard likes to hold, with nobody waiting, go back to the budget.
        if (this.waiting === 0 && this.units > UNITS_WANTED) {
          this.units = UNITS_WANTED;
          this.store(); // before the keeper hears of it: a restart must not bring the surplus back
        }
        const spent = this.spentUnreported;
        const refused = this.refusedUnreported;
        this.reportedAt = Date.now();
        const grant: Grant = await this.keeperOf(settings.keeper).grant(settings, this.shardName, {
          held: this.units + this.reserved,
          spent,
          refused,
          need: this.units > 0 ? 0 : this.waiting,
          want,
        });
        this.spentUnreported -= spent;
        this.refusedUnreported -= refused;
        this.units += grant.granted;
        this.attackUntil = grant.attackUntil === 0 ? 0 : grant.attackUntil + recheckOffsetMs();
        this.knownAt = Date.now();
        this.store();
        return grant.granted;
      } finally {
        this.syncing = null;
      }
    })();
    return this.syncing;
  }

  /** Writes units and unreported spends when they changed since the last write (each write is billed). */
  private store() {
    if (this.units === this.storedUnits && this.spentUnreported === this.storedSpent) return;
    this.storedUnits = this.units;
    this.storedSpent = this.spentUnreported;
    this.sql.exec(
      "INSERT INTO gate (k, v) VALUES ('units', ?), ('spent', ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v",
      this.units,
      this.spentUnreported,
    );
  }
}

/** A uniform offset in [0, ATTACK_RECHECK_SPREAD_MS). */
function recheckOffsetMs(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0] % ATTACK_RECHECK_SPREAD_MS;
}
