import { DurableObject } from "cloudflare:workers";
import { AuditEventName } from "../../common/audit-contract";
import { type AuditScope, buildAuditEvent, handOffAuditEvents } from "../audit/producer";
import { sha256Hex } from "../lib/encoding";

export interface LedgerCaps {
  clientDailyFailures: number;
  networkDailyFailures: number;
}

/** Epoch ms until which each client counted, or the whole network, may not look codes up; 0 when free. */
export interface LedgerAnswer {
  clientsBlockedUntil: Record<string, number>;
  networkBlockedUntil: number;
}

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;
const NETWORK = "*";

/**
 * Failed lookups over a day, per client and per network: the Rate Limiting binding counts only 10 s
 * or 60 s periods, so the day is kept here. One object per network (IPv4 /24, IPv6 /48), named by
 * it, so a botnet's networks spread over many objects and no object sees more than one network's
 * traffic. Counts per epoch hour in SQLite; the day is the last 24 hours.
 *
 * It also counts the network's refused lookups (src/audit/refusals.ts) per minute and reason, and
 * after each minute writes one QR_FALLBACK_LOOKUPS_REFUSED event per reason with the count.
 */
export class ClientLedger extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  /** The hour whose expired rows were last deleted: old hours are pruned once an hour, not per call. */
  private prunedHour = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(
      "CREATE TABLE IF NOT EXISTS failures (subject TEXT NOT NULL, hour INTEGER NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (subject, hour))",
    );
    this.sql.exec(
      "CREATE TABLE IF NOT EXISTS refusals (minute INTEGER NOT NULL, reason TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (minute, reason))",
    );
  }

  /** Counts failed lookups of clients of this object's network (an isolate's batch: client -> count). */
  async recordFailures(caps: LedgerCaps, counts: Record<string, number>): Promise<LedgerAnswer> {
    const hour = Math.floor(Date.now() / HOUR_MS);
    if (hour !== this.prunedHour) {
      this.sql.exec("DELETE FROM failures WHERE hour <= ?", hour - 24);
      this.prunedHour = hour;
    }
    const add = (subject: string, n: number) =>
      this.sql.exec(
        "INSERT INTO failures (subject, hour, n) VALUES (?, ?, ?) ON CONFLICT (subject, hour) DO UPDATE SET n = n + excluded.n",
        subject,
        hour,
        n,
      );
    let total = 0;
    const clientsBlockedUntil: Record<string, number> = {};
    for (const [client, n] of Object.entries(counts)) {
      if (!Number.isSafeInteger(n) || n <= 0) continue;
      add(client, n);
      total += n;
      clientsBlockedUntil[client] = this.blockedUntil(client, caps.clientDailyFailures);
    }
    if (total > 0) add(NETWORK, total);
    return { clientsBlockedUntil, networkBlockedUntil: this.blockedUntil(NETWORK, caps.networkDailyFailures) };
  }

  /** Over the cap: blocked until its oldest counted hour leaves the last 24 hours. */
  private blockedUntil(subject: string, cap: number): number {
    const row = this.sql
      .exec<{ total: number; oldest: number }>(
        "SELECT sum(n) AS total, min(hour) AS oldest FROM failures WHERE subject = ?",
        subject,
      )
      .one();
    return (row.total ?? 0) >= cap ? (row.oldest + 24) * HOUR_MS : 0;
  }

  /** Adds an isolate's refusal counts to this minute's; the summary is written once the minute is over. */
  async recordRefusals(scope: AuditScope, network: string, counts: Record<string, number>): Promise<void> {
    const minute = Math.floor(Date.now() / MINUTE_MS);
    for (const [reason, n] of Object.entries(counts)) {
      if (!Number.isSafeInteger(n) || n <= 0) continue;
      this.sql.exec(
        "INSERT INTO refusals (minute, reason, n) VALUES (?, ?, ?) ON CONFLICT (minute, reason) DO UPDATE SET n = n + excluded.n",
        minute,
        reason.slice(0, 64),
        n,
      );
    }
    await this.ctx.storage.put({ scope, network });
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm((minute + 1) * MINUTE_MS + 1_000);
  }

  /**
   * Writes the summaries of the minutes that are over. Each event's id is derived from (network,
   * minute, reason), so a summary written again after a failure is still one row in the trail.
   */
  async alarm(): Promise<void> {
    const scope = await this.ctx.storage.get<AuditScope>("scope");
    const network = (await this.ctx.storage.get<string>("network")) ?? "unknown";
    const current = Math.floor(Date.now() / MINUTE_MS);
    const rows = this.sql
      .exec<{ minute: number; reason: string; n: number }>(
        "SELECT minute, reason, n FROM refusals WHERE minute < ? ORDER BY minute, reason",
        current,
      )
      .toArray();
    for (const row of rows) {
      if (scope) {
        const event = buildAuditEvent(scope, null, {
          eventName: AuditEventName.LOOKUPS_REFUSED,
          message: `${row.n} lookups from ${network} refused (${row.reason}) in one minute`,
          subName: "device/pendingqr",
          rpAppId: null,
          isSuccessful: false,
          errorCode: row.reason,
          refused: { count: row.n, windowStartUTC: row.minute * MINUTE_MS },
        });
        event.id = await summaryId(network, row.minute, row.reason);
        event.remoteIP = network === "unknown" ? null : network.replace(/\/\d+$/, ""); // as truncateIp writes it
        await handOffAuditEvents(this.env.AUDIT_QUEUE, this.env.QR_KV, [event], (p) => this.ctx.waitUntil(p));
      }
      this.sql.exec("DELETE FROM refusals WHERE minute = ? AND reason = ?", row.minute, row.reason);
    }
    const next = this.sql.exec<{ m: number | null }>("SELECT min(minute) AS m FROM refusals").one().m;
    if (next !== null) await this.ctx.storage.setAlarm((Math.max(next, current) + 1) * MINUTE_MS + 1_000);
  }
}

/** A UUID (version 8, RFC 9562) derived from the summary's key. */
async function summaryId(network: string, minute: number, reason: string): Promise<string> {
  const hex = (await sha256Hex(`refusals|${network}|${minute}|${reason}`)).slice(0, 32).split("");
  hex[12] = "8";
  hex[16] = ((Number.parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  const h = hex.join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
