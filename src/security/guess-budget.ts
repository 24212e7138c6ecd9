import { DurableObject } from "cloudflare:workers";
import { AuditEventName } from "../../common/audit-contract";
import { type AuditScope, buildAuditEvent } from "../audit/event";
import { handOffAuditEvents } from "../audit/hand-off";
import type { CodeClass, Config, GuessingConfig } from "../config";

/** What the claim shards pass with every keeper call: the budget, and where attack-mode events go. */
export interface BudgetSettings {
  /** The keeper object's name: "global" (tests name their own, to start from a fresh budget). */
  keeper: string;
  budget: GuessingConfig["budget"];
  /** Attack mode lasts at least this long once started (ATTACK_MIN_SECONDS). */
  minAttackSeconds: number;
  scope: AuditScope;
}

/** The settings every keeper call carries, from the Worker's configuration. */
export function budgetSettings(config: Pick<Config, "guessing" | "tenantId" | "securityAppId">): BudgetSettings {
  return {
    keeper: KEEPER_NAME,
    budget: config.guessing.budget,
    minAttackSeconds: config.guessing.minAttackSeconds,
    scope: { tenantId: config.tenantId, securityAppId: config.securityAppId },
  };
}

/** The one keeper of a deployment. */
export const KEEPER_NAME = "global";

/** A claim shard's call: what it holds and did since its last call, and how many units it wants. */
export interface ShardReport {
  /** Units the shard holds now, after `spent` (the keeper trusts this: a lost answer cannot leak units). */
  held: number;
  /** Units spent by wrong codes since the last call that was answered. */
  spent: number;
  /** Normal-length lookups refused in attack mode since then. */
  refused: number;
  /** Units the lookups waiting at the shard need now. */
  need: number;
  /** Units the shard would like to hold besides, so that lookups rarely wait (granted while all hold little). */
  want: number;
}

export interface Grant {
  granted: number;
  /** Epoch ms until which attack mode is on for normal-length codes; 0 when off. */
  attackUntil: number;
}

/** Epoch ms until which attack mode is on, per code class (long codes never have it: SECURITY model). */
export type AttackState = Record<CodeClass, number>;

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
/** While attack mode is on, the keeper decides this often whether it goes on; shards re-ask as often. */
export const ATTACK_CHECK_MS = 30_000;
/** Shards are granted units beyond what waiting lookups need only while all together hold less than this share. */
const HELD_SHARE_OF_MINUTE = 1 / 4;
/**
 * Units are a lease: a shard that has not heard from the keeper for this long drops what it holds
 * before evaluating (GuessGate), and the keeper forgets a silent shard's units a minute later, so
 * the units of a shard that goes idle for good (0.7's, after the move) return to the budget.
 */
export const UNITS_LEASE_MS = 5 * MINUTE_MS;
const HELD_FORGOTTEN_MS = UNITS_LEASE_MS + MINUTE_MS;
/**
 * A report that changes nothing but when its shard was last heard of is stored only this long after
 * the last stored one: a restarted keeper still forgets a silent shard's units after the shard dropped them.
 */
const HEARD_STORED_EVERY_MS = 30_000;

interface KeeperState {
  /** Wrong codes evaluated, per epoch second, the last minute. */
  spent: Record<number, number>;
  /** Wrong codes evaluated, per epoch hour, the last 24 hours. */
  hours: Record<number, number>;
  /** Wrong and refused normal-length lookups per epoch second, the last minute: the attack's pressure. */
  pressure: Record<number, number>;
  /** Units each shard holds (granted, not yet spent). */
  held: Record<string, number>;
  /** When each shard last reported (epoch ms): a silent shard's units are forgotten (HELD_FORGOTTEN_MS). */
  heldAt?: Record<string, number>;
  attack: { since: number; until: number } | null;
  settings: BudgetSettings | null;
}

const sum = (counts: Record<number, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
function prune(counts: Record<number, number>, oldest: number) {
  for (const k of Object.keys(counts)) if (Number(k) < oldest) delete counts[Number(k)];
}

/**
 * The deployment-wide guess budget for normal-length codes (one instance, "global"). The claim
 * shards evaluate codes, each only while holding a unit granted here, and a wrong code spends it;
 * so in any 60 s the wrong codes evaluated never exceed (units spent in the last minute + units
 * held) ≤ the minute budget, at any isolate count. Isolates hold nothing: budget is spent by wrong
 * codes, not by isolates existing. State is stored on every change, so an eviction forgets nothing.
 *
 * Attack mode starts when a grant would exceed the minute or day budget, and is re-decided every
 * ATTACK_CHECK_MS once the minimum has passed: it goes on while wrong or refused normal-length
 * lookups arrive at ≥ half the minute budget's rate, or while the day's budget is spent.
 */
export class GuessBudget extends DurableObject<Env> {
  private ks: KeeperState = { spent: {}, hours: {}, pressure: {}, held: {}, attack: null, settings: null };
  /** When each shard was last heard of, as stored. */
  private heardStored: Record<string, number> = {};

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      const stored = await ctx.storage.get<KeeperState>("keeper");
      if (stored) this.ks = stored;
      this.heardStored = { ...this.ks.heldAt };
    });
  }

  /** A shard's report and request: records its spends and refusals, then grants up to `want - held`. */
  async grant(settings: BudgetSettings, shard: string, report: ShardReport): Promise<Grant> {
    const now = Date.now();
    const s = this.ks;
    this.prune(now);
    const second = Math.floor(now / 1000);
    const spent = Math.max(0, Math.floor(report.spent));
    const refused = Math.max(0, Math.floor(report.refused));
    if (spent > 0) {
      s.spent[second] = (s.spent[second] ?? 0) + spent;
      const hour = Math.floor(now / HOUR_MS);
      s.hours[hour] = (s.hours[hour] ?? 0) + spent;
    }
    if (spent + refused > 0) s.pressure[second] = (s.pressure[second] ?? 0) + spent + refused;
    const heldBefore = s.held[shard];
    s.held[shard] = Math.max(0, Math.floor(report.held));
    s.heldAt = { ...s.heldAt, [shard]: now };
    let granted = 0;
    if (!this.attackOn()) {
      const { perMinute, perDay } = settings.budget;
      const heldAll = sum(s.held);
      const left = Math.min(perMinute - sum(s.spent) - heldAll, perDay - sum(s.hours) - heldAll);
      const need = Math.max(0, Math.floor(report.need));
      if (need > 0 && left <= 0) {
        await this.startAttack(settings, now, perDay - sum(s.hours) - heldAll <= 0 ? "daily" : "per-minute");
      } else {
        // What waiting lookups need, and a little more while all shards together hold little.
        const room = Math.max(0, Math.floor(perMinute * HELD_SHARE_OF_MINUTE) - heldAll - need);
        const extra = Math.min(room, Math.max(0, Math.floor(report.want) - s.held[shard] - need));
        granted = Math.max(0, Math.min(left, need + extra));
        s.held[shard] += granted;
      }
    }
    // A shard holding nothing is not kept: the objects that only check attack mode (hundreds) leave no entry.
    if (s.held[shard] === 0) {
      delete s.held[shard];
      delete s.heldAt[shard];
    }
    const changed = spent + refused > 0 || s.held[shard] !== heldBefore;
    const heardDue = shard in s.held && now - (this.heardStored[shard] ?? 0) >= HEARD_STORED_EVERY_MS;
    if (changed || heardDue) await this.save();
    return { granted, attackUntil: this.announcedUntil(now) };
  }

  /** The budget's use as it stands: wrong codes evaluated in the last minute and day, units held by shards. */
  async usage(): Promise<{ spentLastMinute: number; spentLastDay: number; held: number; pressureLastMinute: number }> {
    this.prune(Date.now());
    const { spent, hours, held, pressure } = this.ks;
    return {
      spentLastMinute: sum(spent),
      spentLastDay: sum(hours),
      held: sum(held),
      pressureLastMinute: sum(pressure),
    };
  }

  /** Attack mode as it stands (the status route). */
  async attackState(): Promise<AttackState> {
    const now = Date.now();
    return { normal: this.announcedUntil(now), long: 0 };
  }

  /** Stores the keeper's state (each write is billed). */
  private async save(): Promise<void> {
    await this.ctx.storage.put("keeper", this.ks);
    this.heardStored = { ...this.ks.heldAt };
  }

  /** On from its start until the alarm ends it, even if that alarm runs late. */
  private attackOn(): boolean {
    return this.ks.attack !== null;
  }

  /** What shards are told attack mode lasts until: never in the past while it is on (they re-ask then). */
  private announcedUntil(now: number): number {
    return this.ks.attack ? Math.max(this.ks.attack.until, now + 1_000) : 0;
  }

  private prune(now: number) {
    const s = this.ks;
    // A spend is remembered for 60 to 61 s: any 60 s window sees every spend it holds.
    const oldestSecond = Math.floor(now / 1000) - MINUTE_MS / 1000;
    prune(s.spent, oldestSecond);
    prune(s.pressure, oldestSecond);
    prune(s.hours, Math.floor(now / HOUR_MS) - 23);
    s.heldAt ??= {};
    for (const shard of Object.keys(s.held)) {
      s.heldAt[shard] ??= now; // state stored before leases: the lease starts now
      if (s.heldAt[shard] < now - HELD_FORGOTTEN_MS) {
        delete s.held[shard];
        delete s.heldAt[shard];
      }
    }
  }

  private async startAttack(settings: BudgetSettings, now: number, reason: string) {
    this.ks.attack = { since: now, until: now + Math.max(settings.minAttackSeconds * 1000, ATTACK_CHECK_MS) };
    this.ks.settings = settings;
    await this.save();
    await this.ctx.storage.setAlarm(this.ks.attack.until);
    await this.audit(
      settings,
      AuditEventName.ATTACK_MODE_STARTED,
      `Attack mode started for normal-length codes: the ${reason} guess budget is spent`,
    );
  }

  /** Decides whether attack mode goes on: the attack's pressure, or a spent day, keep it. */
  async alarm(): Promise<void> {
    const s = this.ks;
    const settings = s.settings;
    if (!s.attack || !settings) return;
    const now = Date.now();
    if (now < s.attack.until) {
      await this.ctx.storage.setAlarm(s.attack.until); // run early (a test's runDurableObjectAlarm): not yet
      return;
    }
    this.prune(now);
    const { perMinute, perDay } = settings.budget;
    const goesOn = sum(s.pressure) * 2 >= perMinute || sum(s.hours) >= perDay;
    if (goesOn) {
      s.attack.until = now + ATTACK_CHECK_MS;
      await this.save();
      await this.ctx.storage.setAlarm(s.attack.until);
      return;
    }
    s.attack = null;
    await this.save();
    await this.audit(settings, AuditEventName.ATTACK_MODE_ENDED, "Attack mode ended for normal-length codes");
  }

  private async audit(settings: BudgetSettings, eventName: AuditEventName, message: string): Promise<void> {
    const event = buildAuditEvent(settings.scope, null, {
      eventName,
      message,
      subName: "device/pendingqr",
      rpAppId: null,
      isSuccessful: true,
      errorCode: null,
    });
    await handOffAuditEvents(this.env.AUDIT_QUEUE, this.env.QR_KV, [event], (p) => this.ctx.waitUntil(p));
  }
}
