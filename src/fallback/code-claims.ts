import { DurableObject } from "cloudflare:workers";
import type { QueuedAuditEvent } from "../../common/audit-contract";
import {
  attackCheckObjectName,
  claimObjectName,
  EVENT_SEND_DELAY_MS,
  legacyClaimObjectName,
} from "../../common/claim-shards.js";
import { indexCharOfBits, type Region, regionOfIndex } from "../../common/regions.js";
import { SEND_TIMEOUT_MS, sendWithin } from "../audit/hand-off";
import type { CodeClass } from "../config";
import type { BudgetSettings } from "../security/guess-budget";
import { GuessGate, REFUSAL_REPORT_MS } from "../security/guess-gate";

/**
 * What the route read from Workers KV for the code: a payload it opened, an expired one, none; or
 * "unread": it asks first whether the code may be evaluated at all (while attack mode seems on, so
 * that a refused lookup costs the same whether the code is live or not).
 */
export type KvFinding = "live" | "expired" | "absent" | "unread";

/** The shard's answer to a lookup: only "retrieved" may be answered 200, and it is given once. */
export type ClaimVerdict =
  /** `eventKept`: the retrieval event given with the lookup is stored with the redemption (absent: a 0.6 shard). */
  | { outcome: "retrieved"; eventKept?: true }
  | { outcome: "expired" | "unknown" }
  /** "unread" and admitted: nothing evaluated; read KV and ask again. */
  | { outcome: "proceed" }
  /** Not evaluated: normal-length codes are refused until then. */
  | { outcome: "attack"; until: number }
  /** Not evaluated: the guess-budget keeper could not be reached (fail closed). */
  | { outcome: "unavailable" };

/** A send the queue refused is tried again this much later (the events stay stored meanwhile). */
export const EVENT_RETRY_MS = 5_000;
/**
 * Claims are kept in one table per hour of expiry (`claims_<hour>`): once every claim in it has
 * expired and its events are sent, the table is dropped whole, which writes no row (deleting each
 * claim wrote one, and an object's SQLite is billed by rows written).
 */
export const CLAIM_TABLE_MS = 3_600_000;
/** The Queue's limit of messages per sendBatch. */
const MAX_EVENTS_PER_SEND = 100;
const CLAIM_COLUMNS =
  "id TEXT PRIMARY KEY NOT NULL, expiresAt INTEGER NOT NULL, redeemed INTEGER NOT NULL, issued TEXT, issuedSeq INTEGER, retrieved TEXT, retrievedSeq INTEGER, sentThrough INTEGER NOT NULL";
const hourOf = (t: number) => Math.floor(t / CLAIM_TABLE_MS);
/** Where an event this instance wrote is: its number, its claim's table and id, and which column. */
type PendingEvent = { seq: number; table: string; id: string; column: "issued" | "retrieved" };

/**
 * Strongly consistent claims on activation codes, and the guess budget spent on them. Workers KV
 * keeps the payloads, but it has no compare-and-set and other locations may serve a stale value or
 * a stale miss for up to 60 s; so every code is claimed here before its payload is written (two live
 * codes never share a value), and a lookup answers 200 only after winning the claim's single
 * redemption (no code is redeemed twice). Sharded by the first character of the code's HMAC index
 * id (common/claim-shards.js), each shard created in the region holding that character
 * (common/regions.js), so no code is ever seen here in clear. A normal-length code is
 * evaluated here only with a unit of the guess budget held (GuessGate), so evaluating and charging
 * are one step. RPC methods only ever gain new ones: during a deployment a Worker may call an object
 * still running the previous version, or the other way round.
 *
 * A claim's issuance and retrieval events live in its row, written by the statement that claims or
 * redeems, each numbered; the alarm sends those numbered above `sentSeq`. `sentSeq` is stored only
 * with the next claim or redemption (`sentThrough`), so sending writes no row: an object restarted
 * sends again at most what it sent since its last write, which the trail keeps once (it ignores a
 * known id) and hooks receive at least once, under the same webhook-id.
 */
export class CodeClaims extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  /** When the alarm is set for (undefined: not read yet); saves a storage call per claim. */
  private alarmAt: number | null | undefined;
  private gateOf: GuessGate | null = null;
  /** The settings of the last lookup (the alarm reports to the keeper with them). */
  private settings: BudgetSettings | null = null;
  /** The claim tables by hour of expiry. */
  private readonly tables = new Map<number, string>();
  /** The next event's number, and the highest number every event up to which the queue took. */
  private nextSeq = 1;
  private sentSeq = 0;
  /**
   * The events this instance wrote and has not sent, in number order, so an alarm reads only their
   * rows; null after a start with events it cannot know were sent, until one scan has sent them.
   */
  private pending: PendingEvent[] | null = [];
  private sendTimer: ReturnType<typeof setTimeout> | null = null;
  private sending: Promise<void> | null = null;
  /** 0.8 kept unsent events in their own table: it is drained, then dropped. */
  private legacyEvents: boolean;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    const names = this.sql
      .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'claims%'")
      .toArray()
      .map((r) => r.name);
    for (const name of names) if (/^claims_\d+$/.test(name)) this.tables.set(Number(name.slice(7)), name);
    if (names.includes("claims")) this.moveLegacyClaims();
    for (const table of this.tables.values()) {
      const { top, sent } = this.sql
        .exec<{ top: number | null; sent: number | null }>(
          `SELECT max(max(coalesce(issuedSeq, 0), coalesce(retrievedSeq, 0))) AS top, max(sentThrough) AS sent FROM ${table}`,
        )
        .one();
      this.nextSeq = Math.max(this.nextSeq, (top ?? 0) + 1);
      this.sentSeq = Math.max(this.sentSeq, sent ?? 0);
    }
    // A row written without an event carries the watermark too: numbers go on above it.
    this.nextSeq = Math.max(this.nextSeq, this.sentSeq + 1);
    if (this.sentSeq < this.nextSeq - 1) this.pending = null;
    this.legacyEvents =
      this.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'").toArray().length > 0;
  }

  /** 0.7 and 0.8 kept every claim in one table: the live ones move to their hour's table, once. */
  private moveLegacyClaims(): void {
    const now = Date.now();
    const live = this.sql
      .exec<{ id: string; expiresAt: number; redeemed: number }>(
        "SELECT id, expiresAt, redeemed FROM claims WHERE expiresAt > ?",
        now,
      )
      .toArray();
    for (const row of live)
      this.sql.exec(
        `INSERT OR IGNORE INTO ${this.tableFor(row.expiresAt)} (id, expiresAt, redeemed, sentThrough) VALUES (?, ?, ?, 0)`,
        row.id,
        row.expiresAt,
        row.redeemed,
      );
    this.sql.exec("DROP TABLE claims");
  }

  /** The shard's gate, known to the keeper by this object's id. */
  private gate(): GuessGate {
    this.gateOf ??= new GuessGate(this.sql, this.ctx.id.toString(), (name) =>
      this.env.GUESS_BUDGET.get(this.env.GUESS_BUDGET.idFromName(name)),
    );
    return this.gateOf;
  }

  /** The table holding claims that expire in `expiresAt`'s hour, created when first needed. */
  private tableFor(expiresAt: number): string {
    const hour = hourOf(expiresAt);
    let table = this.tables.get(hour);
    if (!table) {
      table = `claims_${hour}`;
      this.sql.exec(`CREATE TABLE IF NOT EXISTS ${table} (${CLAIM_COLUMNS}) WITHOUT ROWID`);
      this.tables.set(hour, table);
    }
    return table;
  }

  /** The tables that may hold a claim live at `now`. */
  private liveTables(now: number): string[] {
    const from = hourOf(now);
    return [...this.tables].filter(([hour]) => hour >= from).map(([, table]) => table);
  }

  /**
   * Claims `id` until `expiresAt`; false when a live claim already holds it (redeemed or not).
   * With `settings` (a normal-length code), "attack" instead while attack mode is on: issue a long code.
   * With `issuedEvent`, the claim and its issuance event are one step, as a redemption and its
   * retrieval event are ({eventKept: true}; a Worker of 0.7 passes none and gets `true`).
   */
  async reserve(
    id: string,
    expiresAt: number,
    settings?: BudgetSettings,
    issuedEvent?: QueuedAuditEvent,
  ): Promise<boolean | "attack" | { eventKept: true }> {
    if (settings && (await this.gate().attackOn(settings))) return "attack";
    const now = Date.now();
    const held = (table: string) =>
      this.sql.exec(`SELECT 1 FROM ${table} WHERE id = ? AND expiresAt > ?`, id, now).toArray().length > 0;
    if (this.liveTables(now).some(held)) return false;
    const table = this.tableFor(expiresAt);
    const seq = issuedEvent ? this.nextSeq : null;
    // A new claim, or one of this table taken over once it has expired and its events are sent.
    const won = this.sql
      .exec(
        `INSERT INTO ${table} (id, expiresAt, redeemed, issued, issuedSeq, sentThrough) VALUES (?1, ?2, 0, ?3, ?4, ?5)
         ON CONFLICT (id) DO UPDATE SET expiresAt = excluded.expiresAt, redeemed = 0, issued = excluded.issued,
           issuedSeq = excluded.issuedSeq, retrieved = NULL, retrievedSeq = NULL, sentThrough = excluded.sentThrough
         WHERE ${table}.expiresAt <= ?6 AND max(coalesce(${table}.issuedSeq, 0), coalesce(${table}.retrievedSeq, 0)) <= ?5
         RETURNING id`,
        id,
        expiresAt,
        issuedEvent ? JSON.stringify(issuedEvent) : null,
        seq,
        this.sentSeq,
        now,
      )
      .toArray();
    if (won.length === 0) return false;
    if (seq !== null) this.wrote({ seq, table, id, column: "issued" });
    await this.armBy((hourOf(expiresAt) + 1) * CLAIM_TABLE_MS + 1000);
    if (!issuedEvent) return true;
    this.sendSoon();
    return { eventKept: true };
  }

  /**
   * A lookup of a well-formed code: evaluated (a normal-length one only with a unit of budget held),
   * and redeemed once when KV gave its payload. A live claim KV did not serve (a stale miss at that
   * location) is neither redeemed nor charged: the phone can try again and be served.
   */
  async lookup(
    settings: BudgetSettings,
    cls: CodeClass,
    id: string,
    found: KvFinding,
    retrievalEvent?: QueuedAuditEvent,
  ): Promise<ClaimVerdict> {
    const gate = cls === "normal" ? this.gate() : null;
    if (gate) {
      this.settings = settings;
      const admission = await gate.admit(settings);
      if (!admission.admitted) {
        // Refusals hold attack mode on once the keeper hears of them: the alarm reports them if no lookup does.
        if (gate.unreported) await this.armBy(Date.now() + REFUSAL_REPORT_MS);
        return "attackUntil" in admission
          ? { outcome: "attack", until: admission.attackUntil }
          : { outcome: "unavailable" };
      }
    }
    if (found === "unread") {
      gate?.giveBack();
      return { outcome: "proceed" };
    }
    // The unit is taken: evaluate, then give it back (a real code) or spend it (a wrong one).
    const now = Date.now();
    const real =
      found === "expired" ||
      (found === "live" && this.redeemNow(id, now, retrievalEvent)) ||
      (found === "absent" && this.liveUnredeemed(id, now));
    if (!real) {
      gate?.spend(settings);
      return { outcome: "unknown" };
    }
    gate?.giveBack();
    if (found !== "live") return { outcome: found === "expired" ? "expired" : "unknown" };
    if (!retrievalEvent) return { outcome: "retrieved" };
    // The redemption and its event were one statement; the shard sends the event shortly.
    this.sendSoon();
    return { outcome: "retrieved", eventKept: true };
  }

  /**
   * Whether a normal-length lookup would be refused for attack mode now, evaluating nothing and
   * taking no unit of the budget (a refusal is counted and reported, as `lookup` does). An isolate
   * that saw attack mode asks this first, at one of its own region's 64 objects (attackCheckObject),
   * which may hold no claims.
   */
  async attackCheck(
    settings: BudgetSettings,
  ): Promise<{ outcome: "proceed" | "unavailable" } | { outcome: "attack"; until: number }> {
    const gate = this.gate();
    this.settings = settings;
    const admission = await gate.check(settings);
    if (admission.admitted) return { outcome: "proceed" };
    if (gate.unreported) await this.armBy(Date.now() + REFUSAL_REPORT_MS);
    return "attackUntil" in admission
      ? { outcome: "attack", until: admission.attackUntil }
      : { outcome: "unavailable" };
  }

  /** Redeems a live claim once, storing its retrieval event in the same statement. */
  private redeemNow(id: string, now: number, event?: QueuedAuditEvent): boolean {
    const seq = event ? this.nextSeq : null;
    for (const table of this.liveTables(now)) {
      const redeemed = this.sql
        .exec(
          `UPDATE ${table} SET redeemed = 1, retrieved = ?, retrievedSeq = ?, sentThrough = ?
           WHERE id = ? AND redeemed = 0 AND expiresAt > ? RETURNING id`,
          event ? JSON.stringify(event) : null,
          seq,
          this.sentSeq,
          id,
          now,
        )
        .toArray().length;
      if (redeemed === 1) {
        if (seq !== null) this.wrote({ seq, table, id, column: "retrieved" });
        return true;
      }
    }
    return false;
  }

  private liveUnredeemed(id: string, now: number): boolean {
    return this.liveTables(now).some(
      (table) =>
        this.sql.exec(`SELECT 1 FROM ${table} WHERE id = ? AND redeemed = 0 AND expiresAt > ?`, id, now).toArray()
          .length === 1,
    );
  }

  /**
   * Sends the stored events EVENT_SEND_DELAY_MS from now, from the object itself: no alarm is set
   * (each setAlarm is billed as a row written). If the object stops first, the events wait in their
   * rows for the hour's alarm, set with the table, or for a restart's scan.
   */
  private sendSoon(): void {
    this.sendTimer ??= setTimeout(() => {
      this.sendTimer = null;
      this.ctx.waitUntil(this.sendEvents());
    }, EVENT_SEND_DELAY_MS);
  }

  /** An event was written under the next number. */
  private wrote(event: PendingEvent): void {
    this.nextSeq++;
    this.pending?.push(event);
  }

  /** Hands the stored events to the audit queue in number order; what a send could not take stays for the next alarm. */
  private sendEvents(): Promise<void> {
    // One send at a time: a later call waits for the one under way, then sends what is left.
    const mine: Promise<void> = (this.sending ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => this.sendUnsent())
      .finally(() => {
        if (this.sending === mine) this.sending = null;
      });
    this.sending = mine;
    return mine;
  }

  private async sendUnsent(): Promise<void> {
    if (this.legacyEvents && !(await this.sendLegacyEvents())) return;
    while (this.sentSeq < this.nextSeq - 1) {
      // The lowest numbers first: once they are sent, every event up to the last of them is.
      const batch = (this.pending ? this.pendingBodies() : this.scanUnsent()).slice(0, MAX_EVENTS_PER_SEND);
      if (batch.length === 0) {
        this.sentSeq = this.nextSeq - 1;
        if (this.pending) this.pending = [];
        break;
      }
      try {
        // A stalled send counts as refused: later events and the alarm must not wait behind it.
        await sendWithin(
          this.env.AUDIT_QUEUE,
          batch.map((e) => JSON.parse(e.body)),
          SEND_TIMEOUT_MS,
        );
      } catch {
        await this.armBy(Date.now() + EVENT_RETRY_MS);
        return;
      }
      this.sentSeq = Math.max(this.sentSeq, batch[batch.length - 1].seq);
      if (this.pending) this.pending = this.pending.filter((e) => e.seq > this.sentSeq);
    }
    this.pending ??= []; // a scan sent everything a restart left
  }

  /** The pending events' bodies, read by key. */
  private pendingBodies(): { seq: number; body: string }[] {
    return (this.pending ?? []).slice(0, MAX_EVENTS_PER_SEND).flatMap((e) => {
      const row = this.sql
        .exec<{ body: string | null }>(`SELECT ${e.column} AS body FROM ${e.table} WHERE id = ?`, e.id)
        .toArray()[0];
      return row?.body ? [{ seq: e.seq, body: row.body }] : [];
    });
  }

  /** Every event numbered above `sentSeq`, in number order: after a restart, from every table. */
  private scanUnsent(): { seq: number; body: string }[] {
    const unsent: { seq: number; body: string }[] = [];
    for (const table of this.tables.values())
      unsent.push(
        ...this.sql
          .exec<{ seq: number; body: string }>(
            `SELECT issuedSeq AS seq, issued AS body FROM ${table} WHERE issuedSeq > ?1
             UNION ALL SELECT retrievedSeq, retrieved FROM ${table} WHERE retrievedSeq > ?1`,
            this.sentSeq,
          )
          .toArray(),
      );
    return unsent.sort((a, b) => a.seq - b.seq);
  }

  /** Sends what 0.8 left in its events table, then drops it; false when the queue refused. */
  private async sendLegacyEvents(): Promise<boolean> {
    for (;;) {
      const rows = this.sql
        .exec<{ id: string; body: string }>("SELECT id, body FROM events LIMIT ?", MAX_EVENTS_PER_SEND)
        .toArray();
      if (rows.length === 0) {
        this.sql.exec("DROP TABLE events");
        this.legacyEvents = false;
        return true;
      }
      try {
        await sendWithin(
          this.env.AUDIT_QUEUE,
          rows.map((r) => JSON.parse(r.body)),
          SEND_TIMEOUT_MS,
        );
      } catch {
        await this.armBy(Date.now() + EVENT_RETRY_MS);
        return false;
      }
      this.sql.exec(
        "DELETE FROM events WHERE id IN (SELECT value FROM json_each(?))",
        JSON.stringify(rows.map((r) => r.id)),
      );
    }
  }

  /** Sets the alarm for `at` unless it is set sooner. */
  private async armBy(at: number): Promise<void> {
    if (this.alarmAt === undefined) this.alarmAt = await this.ctx.storage.getAlarm();
    if (this.alarmAt === null || this.alarmAt > at) {
      this.alarmAt = at;
      await this.ctx.storage.setAlarm(at);
    }
  }

  /**
   * Stored events go to the audit queue; an hour's table leaves once its claims have expired and
   * its events are sent; refusals and spends not yet reported go to the keeper.
   */
  async alarm(): Promise<void> {
    this.alarmAt = null;
    await this.sendEvents();
    if (this.gateOf && this.settings) await this.gateOf.flush(this.settings).catch(() => undefined);
    const now = Date.now();
    for (const [hour, table] of this.tables) {
      if (hour >= hourOf(now)) continue;
      const unsent = this.sql
        .exec(`SELECT 1 FROM ${table} WHERE issuedSeq > ?1 OR retrievedSeq > ?1 LIMIT 1`, this.sentSeq)
        .toArray().length;
      if (unsent) continue; // a send failed: the retry alarm comes back for them
      this.sql.exec(`DROP TABLE ${table}`);
      this.tables.delete(hour);
    }
    // The oldest table's end; one already past (its events unsent) waits for the retry, not a loop.
    const end = this.tables.size > 0 ? (Math.min(...this.tables.keys()) + 1) * CLAIM_TABLE_MS + 1000 : 0;
    if (end > Date.now()) await this.armBy(end);
    if (this.gateOf?.unreported) await this.armBy(Date.now() + REFUSAL_REPORT_MS);
  }
}

/**
 * Object ids by name, per namespace, for the isolate's life: `idFromName` hashes the name each call,
 * and the names are few (64 shards, 64 legacy ones, 64 attack checks per region). Ids are plain
 * values; stubs are made per call.
 */
const claimIds = new WeakMap<DurableObjectNamespace<CodeClaims>, Map<string, DurableObjectId>>();

/** The object of this name, created in `hint`'s region if this is its first use (only the first `get` uses a hint). */
function objectNamed(ns: DurableObjectNamespace<CodeClaims>, name: string, hint?: Region) {
  let ids = claimIds.get(ns);
  if (!ids) {
    ids = new Map();
    claimIds.set(ns, ids);
  }
  let id = ids.get(name);
  if (!id) {
    id = ns.idFromName(name);
    ids.set(name, id);
  }
  return hint ? ns.get(id, { locationHint: hint }) : ns.get(id);
}

/**
 * The object holding a code's claim (and spending the guess budget for it), created in the region
 * that holds its index character. `legacy`: the 0.7 object, wherever it was created.
 */
export function claimObject(ns: DurableObjectNamespace<CodeClaims>, indexId: string, legacy = false) {
  return legacy
    ? objectNamed(ns, legacyClaimObjectName(indexId))
    : objectNamed(ns, claimObjectName(indexId), regionOfIndex(indexId));
}

/** One of the 64 objects a lookup entering in `near` asks first while its isolate knows attack mode is on, at random. */
export function attackCheckObject(ns: DurableObjectNamespace<CodeClaims>, near: Region) {
  const prefix = indexCharOfBits(crypto.getRandomValues(new Uint8Array(1))[0]);
  return objectNamed(ns, attackCheckObjectName(prefix, near), near);
}
