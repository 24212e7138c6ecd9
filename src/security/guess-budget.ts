import { DurableObject } from "cloudflare:workers";
import { AuditEventName } from "../../common/audit-contract";
import { type AuditScope, buildAuditEvent, handOffAuditEvents } from "../audit/producer";
import type { CodeClass, GuessingConfig } from "../config";

export interface BudgetSettings {
  budgets: GuessingConfig["budgets"];
  cooldownSeconds: number;
  /** Where its attack-mode events go. */
  scope: AuditScope;
}

/** Epoch ms until which attack mode is on for each code class; 0 when off. */
export type AttackState = Record<CodeClass, number>;

export interface Lease {
  /** Guesses the asking isolate may evaluate (each is spent by one wrong code at most). */
  granted: number;
  attack: AttackState;
}

interface ClassRecord {
  /** Units granted per hour (epoch hour), the last 24 hours: the daily budget. */
  hours: Record<number, number>;
  attackUntil: number;
  /** Last time an isolate reported refusing a guess of this class in attack mode. */
  lastRefusedAt: number;
}

const CLASSES: CodeClass[] = ["normal", "long"];
const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;
/** A lease shrinks as the budget drains, so budget held idle by isolates is small when it matters. */
const LEASE_DIVISOR = 16;

/**
 * The deployment-wide guess budget (one instance, named "global"). A lookup may evaluate a code only
 * with a unit of budget its isolate leased from here, so the wrong codes evaluated anywhere never
 * exceed what was granted, whatever the concurrency. When a class's budget (per minute or per day)
 * is spent, attack mode starts for that class and lasts until a whole cooldown has passed with no
 * guess of that class refused and the daily budget is no longer spent: a sustained attack keeps it
 * on (new codes stay long, legitimate users are not caught by every restart), a quiet one lets it
 * end. Minute counts live in memory (an eviction forgets at most one minute's grants); daily counts
 * and attack mode are stored.
 */
export class GuessBudget extends DurableObject<Env> {
  private seconds: Record<CodeClass, Map<number, number>> = { normal: new Map(), long: new Map() };
  private records: Record<CodeClass, ClassRecord> = {
    normal: { hours: {}, attackUntil: 0, lastRefusedAt: 0 },
    long: { hours: {}, attackUntil: 0, lastRefusedAt: 0 },
  };

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      for (const cls of CLASSES) {
        const stored = await ctx.storage.get<ClassRecord>(`class:${cls}`);
        if (stored) this.records[cls] = stored;
      }
    });
  }

  /**
   * Grants up to `want` units of `cls` budget, or none while attack mode is on for it. `unused`: units
   * of the isolate's lapsed leases that no wrong code spent, taken off the most recent counts.
   */
  async lease(settings: BudgetSettings, cls: CodeClass, want: number, unused = 0): Promise<Lease> {
    const now = Date.now();
    const record = this.records[cls];
    if (unused > 0) {
      this.handBack(cls, Math.floor(unused));
      await this.ctx.storage.put(`class:${cls}`, record);
    }
    if (record.attackUntil > now) return { granted: 0, attack: this.attack() };
    const budget = settings.budgets[cls];
    const minuteLeft = budget.perMinute - this.minuteUsed(cls, now);
    const dayLeft = budget.perDay - this.dayUsed(cls, now);
    const left = Math.min(minuteLeft, dayLeft);
    if (left <= 0) {
      await this.startAttack(settings, cls, now, dayLeft <= 0 ? "daily" : "per-minute");
      return { granted: 0, attack: this.attack() };
    }
    const granted = Math.min(Math.max(1, Math.floor(want)), Math.max(1, Math.floor(left / LEASE_DIVISOR)), left);
    const second = Math.floor(now / 1000);
    const hour = Math.floor(now / HOUR_MS);
    this.seconds[cls].set(second, (this.seconds[cls].get(second) ?? 0) + granted);
    record.hours[hour] = (record.hours[hour] ?? 0) + granted;
    await this.ctx.storage.put(`class:${cls}`, record);
    return { granted, attack: this.attack() };
  }

  /**
   * An isolate refused guesses of `cls` in attack mode (reported at most every few seconds per
   * isolate, off the answer's path): the attack goes on, so the cooldown counts from now.
   */
  async refused(cls: CodeClass): Promise<AttackState> {
    const record = this.records[cls];
    if (record.attackUntil > 0) {
      record.lastRefusedAt = Date.now();
      await this.ctx.storage.put(`class:${cls}`, record);
    }
    return this.attack();
  }

  /** Attack mode as it stands (the create path asks, to know which length to issue). */
  async state(): Promise<AttackState> {
    return this.attack();
  }

  private attack(): AttackState {
    return { normal: this.records.normal.attackUntil, long: this.records.long.attackUntil };
  }

  /** Takes units back off the newest counts (they were granted within the last lease period). */
  private handBack(cls: CodeClass, units: number): void {
    let left = units;
    for (const second of [...this.seconds[cls].keys()].sort((a, b) => b - a)) {
      const take = Math.min(left, this.seconds[cls].get(second) ?? 0);
      this.seconds[cls].set(second, (this.seconds[cls].get(second) ?? 0) - take);
      left -= take;
      if (left === 0) break;
    }
    left = units;
    const hours = this.records[cls].hours;
    for (const hour of Object.keys(hours)
      .map(Number)
      .sort((a, b) => b - a)) {
      const take = Math.min(left, hours[hour]);
      hours[hour] -= take;
      left -= take;
      if (left === 0) break;
    }
  }

  private minuteUsed(cls: CodeClass, now: number): number {
    const oldest = Math.floor((now - MINUTE_MS) / 1000);
    let used = 0;
    for (const [s, n] of this.seconds[cls]) {
      if (s <= oldest) this.seconds[cls].delete(s);
      else used += n;
    }
    return used;
  }

  private dayUsed(cls: CodeClass, now: number): number {
    const oldest = Math.floor(now / HOUR_MS) - 24;
    let used = 0;
    for (const [h, n] of Object.entries(this.records[cls].hours)) {
      if (Number(h) <= oldest) delete this.records[cls].hours[Number(h)];
      else used += n;
    }
    return used;
  }

  private async startAttack(settings: BudgetSettings, cls: CodeClass, now: number, reason: string) {
    const record = this.records[cls];
    record.attackUntil = now + settings.cooldownSeconds * 1000;
    // A fresh minute after the cooldown: nothing granted before attack mode counts again after it.
    this.seconds[cls].clear();
    await this.ctx.storage.put({ [`class:${cls}`]: record, settings });
    await this.scheduleAlarm();
    const length = cls === "normal" ? "normal-length" : "long";
    await this.audit(
      settings,
      AuditEventName.ATTACK_MODE_STARTED,
      `Attack mode started for ${length} codes: the ${reason} guess budget is spent`,
    );
  }

  private async scheduleAlarm(): Promise<void> {
    const ends = CLASSES.map((c) => this.records[c].attackUntil).filter((t) => t > 0);
    if (ends.length > 0) await this.ctx.storage.setAlarm(Math.min(...ends));
  }

  /** A cooldown is over: attack mode ends, unless guesses were refused within it or the day is spent. */
  async alarm(): Promise<void> {
    const settings = await this.ctx.storage.get<BudgetSettings>("settings");
    if (!settings) return;
    const now = Date.now();
    for (const cls of CLASSES) {
      const record = this.records[cls];
      if (record.attackUntil === 0 || record.attackUntil > now) continue;
      const cooldownMs = settings.cooldownSeconds * 1000;
      if (now - record.lastRefusedAt < cooldownMs) {
        record.attackUntil = record.lastRefusedAt + cooldownMs;
      } else if (this.dayUsed(cls, now) >= settings.budgets[cls].perDay) {
        record.attackUntil = now + cooldownMs;
      } else {
        record.attackUntil = 0;
        const length = cls === "normal" ? "normal-length" : "long";
        await this.audit(settings, AuditEventName.ATTACK_MODE_ENDED, `Attack mode ended for ${length} codes`);
      }
      await this.ctx.storage.put(`class:${cls}`, record);
    }
    await this.scheduleAlarm();
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
