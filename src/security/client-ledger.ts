import { DurableObject } from "cloudflare:workers";

export interface LedgerCaps {
  clientDailyFailures: number;
  networkDailyFailures: number;
}

/** Epoch ms until which the client, or its whole network, may not look codes up; 0 when free. */
export interface LedgerAnswer {
  clientBlockedUntil: number;
  networkBlockedUntil: number;
}

const HOUR_MS = 3_600_000;
const NETWORK = "*";

/**
 * Failed lookups over a day, per client and per network: the Rate Limiting binding counts only 10 s
 * or 60 s periods, so the day is kept here. One object per network (IPv4 /24, IPv6 /48), named by
 * it, so a botnet's networks spread over many objects and no object sees more than one network's
 * traffic. Counts per epoch hour in SQLite; the day is the last 24 hours.
 */
export class ClientLedger extends DurableObject<Env> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(
      "CREATE TABLE IF NOT EXISTS failures (subject TEXT NOT NULL, hour INTEGER NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (subject, hour))",
    );
  }

  /** Counts one failed lookup of `client` (in this object's network). */
  async recordFailure(caps: LedgerCaps, client: string): Promise<LedgerAnswer> {
    const hour = Math.floor(Date.now() / HOUR_MS);
    this.sql.exec("DELETE FROM failures WHERE hour <= ?", hour - 24);
    for (const subject of [client, NETWORK]) {
      this.sql.exec(
        "INSERT INTO failures (subject, hour, n) VALUES (?, ?, 1) ON CONFLICT (subject, hour) DO UPDATE SET n = n + 1",
        subject,
        hour,
      );
    }
    return {
      clientBlockedUntil: this.blockedUntil(client, caps.clientDailyFailures),
      networkBlockedUntil: this.blockedUntil(NETWORK, caps.networkDailyFailures),
    };
  }

  /** Over the cap: blocked until its oldest counted hour leaves the day. */
  private blockedUntil(subject: string, cap: number): number {
    const row = this.sql
      .exec<{ total: number; oldest: number }>(
        "SELECT sum(n) AS total, min(hour) AS oldest FROM failures WHERE subject = ?",
        subject,
      )
      .one();
    return row.total >= cap ? (row.oldest + 25) * HOUR_MS : 0;
  }
}
