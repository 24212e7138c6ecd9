import { DurableObject } from "cloudflare:workers";

/**
 * Strongly consistent claims on activation codes. Workers KV keeps the payloads, but it has no
 * compare-and-set and other locations may serve a stale value or a stale miss for up to 60 s; so
 * every code is claimed here before its payload is written (two live codes never share a value),
 * and a lookup answers 200 only after winning the claim's single redemption (no code is redeemed
 * twice). Sharded by the first characters of the code's HMAC index id, so no object holds more
 * than a slice of the live codes and no code is ever seen here in clear.
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
    if (this.alarmAt === undefined) this.alarmAt = await this.ctx.storage.getAlarm();
    if (this.alarmAt === null) {
      this.alarmAt = expiresAt + 1000;
      await this.ctx.storage.setAlarm(this.alarmAt);
    }
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

  /** Claims leave with their codes. */
  async alarm(): Promise<void> {
    this.sql.exec("DELETE FROM claims WHERE expiresAt <= ?", Date.now());
    const next = this.sql.exec<{ t: number | null }>("SELECT min(expiresAt) AS t FROM claims").one().t;
    this.alarmAt = next === null ? null : next + 1000;
    if (this.alarmAt !== null) await this.ctx.storage.setAlarm(this.alarmAt);
  }
}

/** One object per two-character prefix of the index id (64² shards). */
export function claimShard(ns: DurableObjectNamespace<CodeClaims>, indexId: string) {
  return ns.get(ns.idFromName(`claims:${indexId.slice(0, 2)}`));
}
