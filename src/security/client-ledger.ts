import { DurableObject } from "cloudflare:workers";
import { AuditEventName } from "../../common/audit-contract";
import { log } from "../../common/log";
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
 * after each minute hands them to one deployment-wide instance (SUMMARY_LEDGER), which writes one
 * QR_FALLBACK_LOOKUPS_REFUSED event per reason and minute: a flood from any number of networks adds
 * a few rows a minute, not one per network.
 */
export class ClientLedger extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  /** The hour whose expired rows were last deleted: old hours are pruned once an hour, not per call. */
  private prunedHour = 0;
  /** When the alarm is set for (undefined: not read yet). */
  private alarmAt: number | null | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(
      "CREATE TABLE IF NOT EXISTS failures (subject TEXT NOT NULL, hour INTEGER NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (subject, hour))",
    );
    this.sql.exec(
      "CREATE TABLE IF NOT EXISTS refusals (minute INTEGER NOT NULL, reason TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (minute, reason))",
    );
    this.sql.exec(
      "CREATE TABLE IF NOT EXISTS summary (minute INTEGER NOT NULL, reason TEXT NOT NULL, network TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (minute, reason, network))",
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

  /** Adds an isolate's refusal counts to this minute's; they go to the deployment's summary once the minute is over. */
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
    await this.alarmBy((minute + 1) * MINUTE_MS + 1_000);
  }

  /**
   * The deployment's summary ledger (SUMMARY_LEDGER): a network's counts of a minute that is over.
   * Counts of a minute already summarized go into the current minute's summary.
   */
  async addNetworkRefusals(scope: AuditScope, network: string, rows: RefusalRow[]): Promise<void> {
    const written = (await this.ctx.storage.get<number>("summarizedThrough")) ?? -1;
    const current = Math.floor(Date.now() / MINUTE_MS);
    for (const row of rows) {
      if (!Number.isSafeInteger(row.n) || row.n <= 0) continue;
      this.sql.exec(
        "INSERT INTO summary (minute, reason, network, n) VALUES (?, ?, ?, ?) ON CONFLICT (minute, reason, network) DO UPDATE SET n = n + excluded.n",
        row.minute <= written ? current : row.minute,
        row.reason.slice(0, 64),
        network.slice(0, 64),
        row.n,
      );
    }
    await this.ctx.storage.put({ scope });
    const first = this.sql.exec<{ m: number | null }>("SELECT min(minute) AS m FROM summary").one().m;
    if (first !== null) await this.alarmBy((first + 1) * MINUTE_MS + SUMMARY_DELAY_MS);
  }

  /**
   * A network's ledger hands its finished minutes to the summary ledger; the summary ledger writes
   * one QR_FALLBACK_LOOKUPS_REFUSED event per reason and minute, with the count and the top networks.
   * Each event's id is derived from (minute, reason), so a summary written again is still one row.
   */
  async alarm(): Promise<void> {
    const scope = await this.ctx.storage.get<AuditScope>("scope");
    const now = Date.now();
    const current = Math.floor(now / MINUTE_MS);
    const finished = this.sql
      .exec<RefusalRow>("SELECT minute, reason, n FROM refusals WHERE minute < ? ORDER BY minute, reason", current)
      .toArray();
    if (finished.length > 0 && scope) {
      const network = (await this.ctx.storage.get<string>("network")) ?? "unknown";
      try {
        await summaryLedger(this.env.CLIENT_LEDGER).addNetworkRefusals(scope, network, finished);
        this.sql.exec("DELETE FROM refusals WHERE minute < ?", current);
      } catch (err) {
        log("warn", "refusal counts not handed to the summary; kept for the next try", { error: String(err) });
        this.alarmAt = now + 10_000;
        await this.ctx.storage.setAlarm(this.alarmAt);
        return;
      }
    }
    const due = Math.floor((now - SUMMARY_DELAY_MS) / MINUTE_MS); // minutes before this one are summarized
    const rows = this.sql
      .exec<RefusalRow & { network: string }>(
        "SELECT minute, reason, network, n FROM summary WHERE minute < ? ORDER BY minute, reason, n DESC",
        due,
      )
      .toArray();
    const groups = new Map<string, (RefusalRow & { network: string })[]>();
    for (const row of rows) {
      const key = `${row.minute}|${row.reason}`;
      groups.set(key, [...(groups.get(key) ?? []), row]);
    }
    for (const group of groups.values()) {
      if (!scope) break;
      const { minute, reason } = group[0];
      const count = group.reduce((n, r) => n + r.n, 0);
      const top = group.slice(0, TOP_NETWORKS).map((r) => ({ network: ipOfNetwork(r.network), count: r.n }));
      const event = buildAuditEvent(scope, null, {
        eventName: AuditEventName.LOOKUPS_REFUSED,
        message: `${count} lookups refused (${reason}) in one minute from ${group.length} network(s); most from ${top
          .map((t) => `${t.network} (${t.count})`)
          .join(", ")}`,
        subName: "device/pendingqr",
        rpAppId: null,
        isSuccessful: false,
        errorCode: reason,
        refused: { count, windowStartUTC: minute * MINUTE_MS, topNetworks: top },
      });
      event.id = await summaryId(minute, reason);
      event.remoteIP = top[0]?.network ?? null;
      await handOffAuditEvents(this.env.AUDIT_QUEUE, this.env.QR_KV, [event], (p) => this.ctx.waitUntil(p));
    }
    if (rows.length > 0) {
      this.sql.exec("DELETE FROM summary WHERE minute < ?", due);
      await this.ctx.storage.put("summarizedThrough", due - 1);
    }
    this.alarmAt = null;
    const nextRefusal = this.sql.exec<{ m: number | null }>("SELECT min(minute) AS m FROM refusals").one().m;
    const nextSummary = this.sql.exec<{ m: number | null }>("SELECT min(minute) AS m FROM summary").one().m;
    if (nextRefusal !== null) await this.alarmBy((Math.max(nextRefusal, current) + 1) * MINUTE_MS + 1_000);
    if (nextSummary !== null) await this.alarmBy((nextSummary + 1) * MINUTE_MS + SUMMARY_DELAY_MS);
  }

  /** Sets the alarm for `at` unless one is due sooner. */
  private async alarmBy(at: number): Promise<void> {
    this.alarmAt ??= await this.ctx.storage.getAlarm();
    if (this.alarmAt === null || this.alarmAt > at) {
      this.alarmAt = at;
      await this.ctx.storage.setAlarm(at);
    }
  }
}

type RefusalRow = {
  minute: number;
  reason: string;
  n: number;
};

/** The ledger instance that writes the deployment's refusal summaries (no network is named so). */
export const SUMMARY_LEDGER = "*deployment";
/** A minute is summarized this long after it ends, once the networks' ledgers have handed it over. */
export const SUMMARY_DELAY_MS = 30_000;
/** Networks named in a summary, with their counts. */
const TOP_NETWORKS = 5;

export const summaryLedger = (ns: DurableObjectNamespace<ClientLedger>) => ns.get(ns.idFromName(SUMMARY_LEDGER));

/** "192.0.2.0/24" as the trail writes addresses: "192.0.2.0" (truncateIp's form). */
const ipOfNetwork = (network: string) => network.replace(/\/\d+$/, "");

/** A UUID (version 8, RFC 9562) derived from the summary's key. */
async function summaryId(minute: number, reason: string): Promise<string> {
  const hex = (await sha256Hex(`refusals|${minute}|${reason}`)).slice(0, 32).split("");
  hex[12] = "8";
  hex[16] = ((Number.parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  const h = hex.join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
