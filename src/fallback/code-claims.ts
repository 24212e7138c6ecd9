import { DurableObject } from "cloudflare:workers";
import type { QueuedAuditEvent } from "../../common/audit-contract";
import { claimObjectName, legacyClaimObjectName } from "../../common/claim-shards.js";
import { regionOfIndex } from "../../common/regions.js";
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

/** A redemption's event waits this long in the shard, so that the events of a busy shard share a send. */
export const EVENT_SEND_DELAY_MS = 250;
/** A send the queue refused is tried again this much later (the events stay stored meanwhile). */
export const EVENT_RETRY_MS = 5_000;
/** The Queue's limit of messages per sendBatch. */
const MAX_EVENTS_PER_SEND = 100;

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
 */
export class CodeClaims extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  /** When the cleanup alarm is set for (undefined: not read yet); saves a storage call per claim. */
  private alarmAt: number | null | undefined;
  private gateOf: GuessGate | null = null;
  /** The settings of the last lookup (the alarm reports to the keeper with them). */
  private settings: BudgetSettings | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    // WITHOUT ROWID: the key is the row, so a write is one row, not a row and its key's index entry
    // (Cloudflare bills an object's SQLite by rows written). 0.7's shards keep their tables.
    this.sql.exec(
      "CREATE TABLE IF NOT EXISTS claims (id TEXT PRIMARY KEY NOT NULL, expiresAt INTEGER NOT NULL, redeemed INTEGER NOT NULL) WITHOUT ROWID",
    );
    // Issuance and retrieval events stored with their claim or redemption, until the alarm has sent them.
    this.sql.exec("CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY NOT NULL, body TEXT NOT NULL) WITHOUT ROWID");
  }

  /** The shard's gate, known to the keeper by this object's id. */
  private gate(): GuessGate {
    this.gateOf ??= new GuessGate(this.sql, this.ctx.id.toString(), (name) =>
      this.env.GUESS_BUDGET.get(this.env.GUESS_BUDGET.idFromName(name)),
    );
    return this.gateOf;
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
    // One statement: a new claim, or an expired one taken over; a live one (redeemed or not) wins.
    const won = this.sql
      .exec(
        "INSERT INTO claims (id, expiresAt, redeemed) VALUES (?, ?, 0) ON CONFLICT (id) DO UPDATE SET expiresAt = excluded.expiresAt, redeemed = 0 WHERE claims.expiresAt <= ? RETURNING id",
        id,
        expiresAt,
        Date.now(),
      )
      .toArray();
    if (won.length === 0) return false;
    if (issuedEvent) this.keepEvent(issuedEvent);
    await this.cleanUpAfter(expiresAt);
    if (!issuedEvent) return true;
    await this.armBy(Date.now() + EVENT_SEND_DELAY_MS);
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
      (found === "live" && this.redeemNow(id, now)) ||
      (found === "absent" && this.liveUnredeemed(id, now));
    if (!real) {
      gate?.spend(settings);
      return { outcome: "unknown" };
    }
    gate?.giveBack();
    if (found !== "live") return { outcome: found === "expired" ? "expired" : "unknown" };
    if (!retrievalEvent) return { outcome: "retrieved" };
    // The redemption and its event are one durable fact: written in the same step as the redemption
    // (no await between), sent by the alarm. An isolate stopped after answering loses neither.
    this.keepEvent(retrievalEvent);
    await this.armBy(Date.now() + EVENT_SEND_DELAY_MS);
    return { outcome: "retrieved", eventKept: true };
  }

  /** Stores an event for the alarm to send (synchronous: it lands in the caller's step). */
  private keepEvent(event: QueuedAuditEvent): void {
    this.sql.exec("INSERT OR IGNORE INTO events (id, body) VALUES (?, ?)", event.id, JSON.stringify(event));
  }

  /** Hands the stored events to the audit queue; what a send could not take stays for the next alarm. */
  private async sendEvents(): Promise<void> {
    for (;;) {
      const rows = this.sql
        .exec<{ id: string; body: string }>("SELECT id, body FROM events LIMIT ?", MAX_EVENTS_PER_SEND)
        .toArray();
      if (rows.length === 0) return;
      try {
        await this.env.AUDIT_QUEUE.sendBatch(rows.map((r) => ({ body: JSON.parse(r.body), contentType: "json" })));
      } catch {
        await this.armBy(Date.now() + EVENT_RETRY_MS);
        return;
      }
      this.sql.exec(
        "DELETE FROM events WHERE id IN (SELECT value FROM json_each(?))",
        JSON.stringify(rows.map((r) => r.id)),
      );
    }
  }

  private redeemNow(id: string, now: number): boolean {
    return (
      this.sql
        .exec("UPDATE claims SET redeemed = 1 WHERE id = ? AND redeemed = 0 AND expiresAt > ? RETURNING id", id, now)
        .toArray().length === 1
    );
  }

  private liveUnredeemed(id: string, now: number): boolean {
    return (
      this.sql.exec("SELECT 1 FROM claims WHERE id = ? AND redeemed = 0 AND expiresAt > ?", id, now).toArray()
        .length === 1
    );
  }

  /** One alarm at a time, set when the first claim is made; it re-arms itself while claims remain. */
  private async cleanUpAfter(expiresAt: number): Promise<void> {
    if (this.alarmAt === undefined) this.alarmAt = await this.ctx.storage.getAlarm();
    if (this.alarmAt === null) await this.armBy(expiresAt + 1000);
  }

  /** Sets the alarm for `at` unless it is set sooner. */
  private async armBy(at: number): Promise<void> {
    if (this.alarmAt === undefined) this.alarmAt = await this.ctx.storage.getAlarm();
    if (this.alarmAt === null || this.alarmAt > at) {
      this.alarmAt = at;
      await this.ctx.storage.setAlarm(at);
    }
  }

  /** Stored events go to the audit queue; claims leave with their codes; refusals and spends not yet reported go to the keeper. */
  async alarm(): Promise<void> {
    this.alarmAt = null;
    await this.sendEvents();
    if (this.gateOf && this.settings) await this.gateOf.flush(this.settings).catch(() => undefined);
    this.sql.exec("DELETE FROM claims WHERE expiresAt <= ?", Date.now());
    const next = this.sql.exec<{ t: number | null }>("SELECT min(expiresAt) AS t FROM claims").one().t;
    if (next !== null) await this.armBy(next + 1000);
    if (this.gateOf?.unreported) await this.armBy(Date.now() + REFUSAL_REPORT_MS);
  }
}

/**
 * Object ids by name, per namespace, for the isolate's life: `idFromName` hashes the name each call,
 * and there are only 64 names (and 64 legacy ones). Ids are plain values; stubs are made per call.
 */
const claimIds = new WeakMap<DurableObjectNamespace<CodeClaims>, Map<string, DurableObjectId>>();

/**
 * The object holding a code's claim (and spending the guess budget for it), created in the region
 * that holds its index character: only the first `get` of an object uses the hint, later ones are
 * free to pass it. `legacy`: the 0.7 object, wherever it was created.
 */
export function claimObject(ns: DurableObjectNamespace<CodeClaims>, indexId: string, legacy = false) {
  let ids = claimIds.get(ns);
  if (!ids) {
    ids = new Map();
    claimIds.set(ns, ids);
  }
  const name = legacy ? legacyClaimObjectName(indexId) : claimObjectName(indexId);
  let id = ids.get(name);
  if (!id) {
    id = ns.idFromName(name);
    ids.set(name, id);
  }
  return legacy ? ns.get(id) : ns.get(id, { locationHint: regionOfIndex(indexId) });
}
