import { DurableObject } from "cloudflare:workers";
import { AuditEventName } from "../audit/event";
import { buildAuditEvent, handOffAuditEvent } from "../audit/producer";

export interface BudgetSettings {
  failureBudget: number;
  windowSeconds: number;
  cooldownSeconds: number;
  tenantId: string;
}

export interface BudgetState {
  /** Epoch ms until which lookups are refused; 0 when not locked down. */
  lockedUntil: number;
}

const LOCKED_UNTIL_KEY = "lockedUntil";

/**
 * Deployment-wide failure budget (one instance, by name "global"). Failed lookups from every client
 * are counted in a sliding window of one-second buckets; past the budget, lookups are refused for a
 * cooldown. The lock survives eviction (storage); the counts are best-effort memory.
 */
export class FailureBudget extends DurableObject<Env> {
  private buckets = new Map<number, number>();
  private lockedUntil: number | undefined;

  private async locked(): Promise<number> {
    this.lockedUntil ??= (await this.ctx.storage.get<number>(LOCKED_UNTIL_KEY)) ?? 0;
    return this.lockedUntil;
  }

  /** Counts `count` failed lookups (an isolate reports its concurrent failures together). */
  async recordFailures(settings: BudgetSettings, count: number): Promise<BudgetState> {
    const now = Date.now();
    const lockedUntil = await this.locked();
    if (lockedUntil > now) return { lockedUntil };
    const second = Math.floor(now / 1000);
    const failed = Number.isSafeInteger(count) && count > 0 ? count : 1;
    this.buckets.set(second, (this.buckets.get(second) ?? 0) + failed);
    let failures = 0;
    for (const [s, n] of this.buckets) {
      if (s <= second - settings.windowSeconds) this.buckets.delete(s);
      else failures += n;
    }
    if (failures < settings.failureBudget) return { lockedUntil: 0 };
    return this.startLockdown(now, settings, failures);
  }

  private async startLockdown(now: number, settings: BudgetSettings, failures: number): Promise<BudgetState> {
    const until = now + settings.cooldownSeconds * 1000;
    this.lockedUntil = until;
    this.buckets.clear();
    await this.ctx.storage.put({ [LOCKED_UNTIL_KEY]: until, tenantId: settings.tenantId });
    await this.ctx.storage.setAlarm(until);
    await this.audit(
      settings.tenantId,
      AuditEventName.LOCKDOWN_STARTED,
      `Lookup lockdown started after ${failures} failed lookups in ${settings.windowSeconds} s`,
    );
    return { lockedUntil: until };
  }

  /** The cooldown is over. */
  async alarm(): Promise<void> {
    const tenantId = (await this.ctx.storage.get<string>("tenantId")) ?? "default";
    this.lockedUntil = 0;
    await this.ctx.storage.put(LOCKED_UNTIL_KEY, 0);
    await this.audit(tenantId, AuditEventName.LOCKDOWN_ENDED, "Lookup lockdown ended");
  }

  private async audit(tenantId: string, eventName: AuditEventName, message: string): Promise<void> {
    const event = buildAuditEvent({ tenantId }, null, {
      eventName,
      message,
      subName: "device/pendingqr",
      rpAppId: null,
      isSuccessful: true,
      errorCode: null,
    });
    await handOffAuditEvent(this.env.AUDIT_QUEUE, this.env.QR_KV, event, (p) => this.ctx.waitUntil(p));
  }
}
