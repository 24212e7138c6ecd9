/**
 * Audit events held in R2 (the archive bucket, AUDIT_ARCHIVE) while the trail or the hooks refuse them:
 * written by the audit consumer's dead-letter handler and replayed by its minute cron, which publishes
 * the backlog in KV for GET /cc/api/qrfallback/status (the main Worker has no access to the bucket).
 * docs/storage.md lists the keys.
 */
import { KV_PREFIXES } from "./kv-keys.js";

/** R2 keys of held batches: `held/<arrival ms, 15 digits>-<first message id>.json`, oldest first. */
export const HELD_PREFIX = "held/";

/** Held objects that failed their check, moved aside for an operator (never replayed). */
export const HELD_BAD_PREFIX = "held-bad/";

export const heldKey = (arrivedAt: number, messageId: string) =>
  `${HELD_PREFIX}${String(arrivedAt).padStart(15, "0")}-${messageId}.json`;

export interface AuditBacklog {
  batches: number;
  events: number;
  oldestAt: number | null;
}

/** Written by the consumer after each hold and each replay. */
export const putAuditBacklog = (kv: KVNamespace, backlog: AuditBacklog) =>
  kv.put(KV_PREFIXES.auditBacklog, JSON.stringify({ ...backlog, countedAt: Date.now() }));

/** What the consumer last counted (none: nothing was ever held). */
export async function getAuditBacklog(kv: KVNamespace): Promise<AuditBacklog & { countedAt: number | null }> {
  const stored = await kv.get<AuditBacklog & { countedAt: number }>(KV_PREFIXES.auditBacklog, "json");
  return stored ?? { batches: 0, events: 0, oldestAt: null, countedAt: null };
}

/** The held backlog: batches, events, and the oldest's arrival. */
export async function heldBacklog(bucket: R2Bucket): Promise<AuditBacklog> {
  let batches = 0;
  let events = 0;
  let oldestAt: number | null = null;
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix: HELD_PREFIX, cursor, include: ["customMetadata"] });
    for (const o of page.objects) {
      batches++;
      events += Number(o.customMetadata?.events ?? 0);
      const at = Number(o.key.slice(HELD_PREFIX.length, HELD_PREFIX.length + 15));
      if (oldestAt === null || at < oldestAt) oldestAt = at;
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return { batches, events, oldestAt };
}
