import { DurableObject } from "cloudflare:workers";
import { AuditEventName } from "../../common/audit-contract";
import { log } from "../../common/log";
import { type AuditScope, buildAuditEvent } from "../audit/event";
import { handOffAuditEvents } from "../audit/hand-off";
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
 * after each minute hands them on through a summary shard to one deployment-wide instance
 * (SUMMARY_LEDGER), which writes one QR_FALLBACK_LOOKUPS_REFUSED event per reason and minute: a
 * flood from any number of networks adds a few rows a minute, not one per network.
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
      "CREATE TABLE IF NOT EXISTS summary (minute INTEGER NOT NULL, reason TEXT NOT NULL, network TEXT NOT NULL, n INTEGER NOT NULL, networks INTEGER NOT NULL, PRIMARY KEY (minute, reason, network))",
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
    await this.alarmBy((minute + 1) * MINUTE_MS + handOnDelayMs(network));
  }

  /**
   * A summary ledger's input: counts of minutes that are over, per reason and network (`networks`:
   * how many networks a row stands for). Level "shard" (one of SUMMARY_SHARDS, named by a hash of
   * the network) hands each minute's top networks and the rest to level "deployment"
   * (SUMMARY_LEDGER), which writes the events: no object hears from every network. Counts of a
   * minute already handed on go into the current minute.
   */
  async addRefusalRows(scope: AuditScope, level: SummaryLevel, rows: SummaryRow[]): Promise<void> {
    const handedOn = (await this.ctx.storage.get<number>("summarizedThrough")) ?? -1;
    const current = Math.floor(Date.now() / MINUTE_MS);
    for (const row of rows) {
      if (!Number.isSafeInteger(row.n) || row.n <= 0) continue;
      this.sql.exec(
        "INSERT INTO summary (minute, reason, network, n, networks) VALUES (?, ?, ?, ?, ?) ON CONFLICT (minute, reason, network) DO UPDATE SET n = n + excluded.n, networks = max(networks, excluded.networks)",
        row.minute <= handedOn ? current : row.minute,
        row.reason.slice(0, 64),
        row.network.slice(0, 64),
        row.n,
        Math.max(1, Math.floor(row.networks)),
      );
    }
    await this.ctx.storage.put({ scope, level });
    const first = this.sql.exec<{ m: number | null }>("SELECT min(minute) AS m FROM summary").one().m;
    if (first !== null) await this.alarmBy((first + 1) * MINUTE_MS + SUMMARY_DELAYS_MS[level]);
  }

  /**
   * A network's ledger hands its finished minutes to its summary shard; a summary shard hands each
   * minute's top networks on; the deployment's summary ledger writes one QR_FALLBACK_LOOKUPS_REFUSED
   * event per reason and minute, with the count and the top networks. Each event's id is derived
   * from (minute, reason), so a summary written again is still one row.
   */
  async alarm(): Promise<void> {
    this.alarmAt = null;
    const scope = await this.ctx.storage.get<AuditScope>("scope");
    const level = await this.ctx.storage.get<SummaryLevel>("level");
    const network = (await this.ctx.storage.get<string>("network")) ?? "unknown";
    const now = Date.now();
    const current = Math.floor(now / MINUTE_MS);
    const finished = this.sql
      .exec<RefusalRow>("SELECT minute, reason, n FROM refusals WHERE minute < ? ORDER BY minute, reason", current)
      .toArray();
    if (finished.length > 0 && scope) {
      const rows = finished.map((r) => ({ ...r, network, networks: 1 }));
      if (
        !(await this.handOn(() => summaryShardOf(this.env.CLIENT_LEDGER, network).addRefusalRows(scope, "shard", rows)))
      ) {
        return;
      }
      this.sql.exec("DELETE FROM refusals WHERE minute < ?", current);
    }
    if (level && scope) {
      const due = Math.floor((now - SUMMARY_DELAYS_MS[level]) / MINUTE_MS); // minutes before this one are due
      const groups = new Map<string, SummaryRow[]>();
      for (const row of this.sql.exec<SummaryRow>(
        "SELECT minute, reason, network, n, networks FROM summary WHERE minute < ? ORDER BY minute, reason, n DESC",
        due,
      )) {
        const key = `${row.minute}|${row.reason}`;
        const group = groups.get(key);
        if (group) group.push(row);
        else groups.set(key, [row]);
      }
      if (groups.size > 0) {
        if (level === "shard") {
          const rows = [...groups.values()].flatMap(topAndRest);
          if (
            !(await this.handOn(() => summaryLedger(this.env.CLIENT_LEDGER).addRefusalRows(scope, "deployment", rows)))
          ) {
            return;
          }
        } else {
          for (const group of groups.values()) await this.writeSummary(scope, group);
        }
        this.sql.exec("DELETE FROM summary WHERE minute < ?", due);
        await this.ctx.storage.put("summarizedThrough", due - 1);
      }
    }
    const nextRefusal = this.sql.exec<{ m: number | null }>("SELECT min(minute) AS m FROM refusals").one().m;
    const nextSummary = this.sql.exec<{ m: number | null }>("SELECT min(minute) AS m FROM summary").one().m;
    if (nextRefusal !== null) {
      await this.alarmBy((Math.max(nextRefusal, current) + 1) * MINUTE_MS + handOnDelayMs(network));
    }
    if (nextSummary !== null && level) await this.alarmBy((nextSummary + 1) * MINUTE_MS + SUMMARY_DELAYS_MS[level]);
  }

  /** Runs a hand-off to the next level; on failure keeps the rows and tries again in 10 s. */
  private async handOn(call: () => Promise<void>): Promise<boolean> {
    try {
      await call();
      return true;
    } catch (err) {
      log("warn", "refusal counts not handed on; kept for the next try", { error: String(err) });
      this.alarmAt = Date.now() + 10_000;
      await this.ctx.storage.setAlarm(this.alarmAt);
      return false;
    }
  }

  private async writeSummary(scope: AuditScope, group: SummaryRow[]): Promise<void> {
    const { minute, reason } = group[0];
    const count = group.reduce((n, r) => n + r.n, 0);
    const networks = group.reduce((n, r) => n + r.networks, 0);
    const top = group
      .filter((r) => r.network !== OTHERS)
      .slice(0, TOP_NETWORKS)
      .map((r) => ({ network: ipOfNetwork(r.network), count: r.n }));
    const event = buildAuditEvent(scope, null, {
      eventName: AuditEventName.LOOKUPS_REFUSED,
      message: `${count} lookups refused (${reason}) in one minute from ${networks} network(s); most from ${top
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
type SummaryRow = RefusalRow & { network: string; networks: number };
type SummaryLevel = "shard" | "deployment";

/** The ledger instance that writes the deployment's refusal summaries (no network is named so). */
export const SUMMARY_LEDGER = "*deployment";
/** Summary shards between the networks' ledgers and SUMMARY_LEDGER (`*summary:<n>`). */
export const SUMMARY_SHARDS = 64;
/**
 * After a minute ends: networks hand it on after 1 to 11 s (each at its own offset, so a summary
 * shard does not hear from all its networks in one second), summary shards after 15 s, the summary
 * is written after 30 s.
 */
const NETWORK_DELAY_MS = 1_000;
export const NETWORK_SPREAD_MS = 10_000;
export const SUMMARY_DELAYS_MS: Record<SummaryLevel, number> = { shard: 15_000, deployment: 30_000 };
/** Networks named in a summary, with their counts; the rest are counted as one row. */
const TOP_NETWORKS = 5;
const OTHERS = "*others";

export const summaryLedger = (ns: DurableObjectNamespace<ClientLedger>) => ns.get(ns.idFromName(SUMMARY_LEDGER));

/** FNV-1a of a network's name: its summary shard (the low bits) and its hand-on offset (the rest). */
function networkHash(network: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < network.length; i++) h = Math.imul(h ^ network.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** The summary shard a network's ledger hands its counts to. */
export function summaryShardOf(ns: DurableObjectNamespace<ClientLedger>, network: string) {
  return ns.get(ns.idFromName(`*summary:${networkHash(network) % SUMMARY_SHARDS}`));
}

/** How long after a minute's end a network's ledger hands it on. */
export const handOnDelayMs = (network: string) =>
  NETWORK_DELAY_MS + (Math.floor(networkHash(network) / SUMMARY_SHARDS) % NETWORK_SPREAD_MS);

/** A summary shard's rows of one minute and reason, as handed on: its top networks, and the rest as one row. */
function topAndRest(group: SummaryRow[]): SummaryRow[] {
  const rest = group.slice(TOP_NETWORKS);
  const restRow = {
    ...group[0],
    network: OTHERS,
    n: rest.reduce((n, r) => n + r.n, 0),
    networks: rest.reduce((n, r) => n + r.networks, 0),
  };
  return [...group.slice(0, TOP_NETWORKS), ...(rest.length > 0 ? [restRow] : [])];
}

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
