import { DurableObject } from "cloudflare:workers";
import { type ClaimSharding, claimObjectNames } from "../../common/claim-shards.js";

/**
 * Strongly consistent claims on activation codes. Workers KV keeps the payloads, but it has no
 * compare-and-set and other locations may serve a stale value or a stale miss for up to 60 s; so
 * every code is claimed here before its payload is written (two live codes never share a value),
 * and a lookup answers 200 only after winning the claim's single redemption (no code is redeemed
 * twice). Sharded by the first characters of the code's HMAC index id (CLAIM_SHARDS,
 * common/claim-shards.js), so no object holds more than a slice of the live codes and no code is
 * ever seen here in clear. Its RPC methods only ever gain new ones: during a deployment a Worker may
 * call an object still running the previous version, or the other way round.
 */
export class CodeClaims extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  /** When the cleanup alarm is set for (undefined: not read yet); saves a storage call per claim. */
  private alarmAt: number | null | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(
      "CREATE TABLE IF NOT EXISTS claims (id TEXT PRIMARY KEY NOT NULL, expiresAt INTEGER NOT NULL, redeemed INTEGER NOT NULL)",
    );
  }

  /** Claims `id` until `expiresAt`; false when a live claim already holds it (redeemed or not). */
  async reserve(id: string, expiresAt: number): Promise<boolean> {
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
    await this.cleanUpAfter(expiresAt);
    return true;
  }

  /** The single redemption of a live claim: true once, false ever after (and for unknown or expired ids). */
  async redeem(id: string): Promise<boolean> {
    const won = this.sql
      .exec(
        "UPDATE claims SET redeemed = 1 WHERE id = ? AND redeemed = 0 AND expiresAt > ? RETURNING id",
        id,
        Date.now(),
      )
      .toArray();
    return won.length === 1;
  }

  /**
   * The redemption of the move between shardings (claimRedeemed): "redeemed" once; "used" for a live
   * claim redeemed before; "absent" for no live claim, which is then recorded here as redeemed until
   * `expiresAt`, so that no later lookup can redeem the code in this object either.
   */
  async consume(id: string, expiresAt: number): Promise<"redeemed" | "used" | "absent"> {
    const now = Date.now();
    const won = this.sql
      .exec("UPDATE claims SET redeemed = 1 WHERE id = ? AND redeemed = 0 AND expiresAt > ? RETURNING id", id, now)
      .toArray();
    if (won.length === 1) return "redeemed";
    const marked = this.sql
      .exec(
        "INSERT INTO claims (id, expiresAt, redeemed) VALUES (?, ?, 1) ON CONFLICT (id) DO UPDATE SET expiresAt = excluded.expiresAt, redeemed = 1 WHERE claims.expiresAt <= ? RETURNING id",
        id,
        expiresAt,
        now,
      )
      .toArray();
    if (marked.length === 0) return "used";
    await this.cleanUpAfter(expiresAt);
    return "absent";
  }

  /** One alarm at a time, set when the first claim is made; it re-arms itself while claims remain. */
  private async cleanUpAfter(expiresAt: number): Promise<void> {
    if (this.alarmAt === undefined) this.alarmAt = await this.ctx.storage.getAlarm();
    if (this.alarmAt === null) {
      this.alarmAt = expiresAt + 1000;
      await this.ctx.storage.setAlarm(this.alarmAt);
    }
  }

  /** Claims leave with their codes. */
  async alarm(): Promise<void> {
    this.sql.exec("DELETE FROM claims WHERE expiresAt <= ?", Date.now());
    const next = this.sql.exec<{ t: number | null }>("SELECT min(expiresAt) AS t FROM claims").one().t;
    this.alarmAt = next === null ? null : next + 1000;
    if (this.alarmAt !== null) await this.ctx.storage.setAlarm(this.alarmAt);
  }
}

/**
 * Object ids by name, per namespace, for the isolate's life: `idFromName` hashes the name each call,
 * and there are only 64 names (4,160 during a move). Ids are plain values; stubs are made per call.
 */
const claimIds = new WeakMap<DurableObjectNamespace<CodeClaims>, Map<string, DurableObjectId>>();

/** The objects holding a code's claim under `sharding`, in the order they are asked. */
export function claimObjects(ns: DurableObjectNamespace<CodeClaims>, sharding: ClaimSharding, indexId: string) {
  let ids = claimIds.get(ns);
  if (!ids) {
    ids = new Map();
    claimIds.set(ns, ids);
  }
  const known = ids;
  return claimObjectNames(sharding, indexId).map((name) => {
    let id = known.get(name);
    if (!id) {
      id = ns.idFromName(name);
      known.set(name, id);
    }
    return ns.get(id);
  });
}

/** Claims `indexId` in every object of the sharding, the old sharding's first; false if any refuses. */
export async function claimReserved(
  ns: DurableObjectNamespace<CodeClaims>,
  sharding: ClaimSharding,
  indexId: string,
  expiresAt: number,
): Promise<boolean> {
  for (const claims of claimObjects(ns, sharding, indexId)) {
    // A claim won before a refusal stays until it expires: it only keeps that value out of use.
    if (!(await claims.reserve(indexId, expiresAt))) return false;
  }
  return true;
}

/**
 * The single redemption of a code's claim. With one object, that object's. During a move, in
 * each object in turn: refused as soon as one has seen it redeemed, granted if one redeems it now
 * and none has seen it redeemed. Every Worker, of either sharding, asks the object in which the
 * code was claimed, which redeems it once; so no code is granted twice.
 */
export async function claimRedeemed(
  ns: DurableObjectNamespace<CodeClaims>,
  sharding: ClaimSharding,
  indexId: string,
  expiresAt: number,
): Promise<boolean> {
  const objects = claimObjects(ns, sharding, indexId);
  if (objects.length === 1) return objects[0].redeem(indexId);
  let redeemed = false;
  for (const claims of objects) {
    const outcome = await claims.consume(indexId, expiresAt);
    if (outcome === "used") return false;
    redeemed ||= outcome === "redeemed";
  }
  return redeemed;
}
