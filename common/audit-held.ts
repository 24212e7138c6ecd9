/**
 * Audit events held in R2 (the archive bucket, AUDIT_ARCHIVE) while the trail's database refuses them:
 * written by the audit consumer's dead-letter handler, replayed by its minute cron, counted by
 * GET /cc/api/qrfallback/status. docs/storage.md lists the key.
 */

/** R2 keys of held batches: `held/<arrival ms, 15 digits>-<first message id>.json`, oldest first. */
export const HELD_PREFIX = "held/";

export const heldKey = (arrivedAt: number, messageId: string) =>
  `${HELD_PREFIX}${String(arrivedAt).padStart(15, "0")}-${messageId}.json`;

/** The held backlog, for GET /cc/api/qrfallback/status: batches, events, and the oldest's arrival. */
export async function heldBacklog(
  bucket: R2Bucket,
): Promise<{ batches: number; events: number; oldestAt: number | null }> {
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
