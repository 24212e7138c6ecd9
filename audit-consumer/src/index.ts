import { type QueuedAuditEvent, queuedAuditEventSchema, writeEvents, writeRejects } from "../../common/audit-contract";
import { retryDelaySeconds } from "../../common/audit-retry.js";
import { varOf } from "../../common/config-vars.js";
import { log } from "../../common/log";
import { isAuditDeadLetterQueue, keepDeadLetters, replayHeld } from "./dead-letters";
import { fanOutToHooks } from "./hook-fanout";
import { archiveExpiredDays, RETENTION_CRON } from "./retention";

/**
 * Writes audit events from the queue into D1. Malformed messages are acknowledged and recorded as
 * rejects (retrying cannot fix them); a failed write retries the messages with backoff, and after
 * `max_retries` the queue moves them to the dead-letter queue. A batch that went in whole is
 * acknowledged with one `ackAll()`: one call instead of one per message, which the bench measured
 * at several percent of a lookup's local CPU (BENCHMARKS.md, 0.3.6).
 */
export async function consumeAuditBatch(batch: MessageBatch<unknown>, env: ConsumerEnv): Promise<void> {
  const accepted: { message: Message<unknown>; event: QueuedAuditEvent }[] = [];
  const rejected: { message: Message<unknown>; reason: string }[] = [];
  for (const message of batch.messages) {
    const parsed = queuedAuditEventSchema.safeParse(message.body);
    if (parsed.success) accepted.push({ message, event: parsed.data });
    else
      rejected.push({
        message,
        reason: parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "),
      });
  }

  let written = false;
  try {
    await writeEvents(
      env.AUDIT_DB,
      accepted.map((a) => a.event),
    );
    // Pushed to the event hooks only once in D1; the hooks' own queue delivers, so a slow or
    // failing endpoint never holds up the trail.
    await fanOutToHooks(
      env,
      accepted.map((a) => a.event),
    );
    written = true;
  } catch (err) {
    log("error", "audit batch write or hook fan-out failed; retrying", { count: accepted.length, error: String(err) });
  }

  if (rejected.length > 0) {
    log("warn", "rejected malformed audit messages", { count: rejected.length });
    try {
      await writeRejects(
        env.AUDIT_DB,
        rejected.map((r) => ({ messageId: r.message.id, reason: r.reason })),
      );
    } catch (err) {
      log("error", "could not record rejected audit messages", { error: String(err) });
    }
  }

  // Rejects are acknowledged whatever happened (retrying cannot fix them); the events only once written.
  if (written) return batch.ackAll();
  const cap = Number(varOf(env, "AUDIT_RETRY_MAX_DELAY_SECONDS"));
  for (const { message } of accepted) message.retry({ delaySeconds: retryDelaySeconds(message.attempts, cap) });
  for (const { message } of rejected) message.ack();
}

/** Cron: archives and prunes the days past AUDIT_RETENTION_DAYS. */
export async function pruneTrail(env: ConsumerEnv): Promise<void> {
  const retentionDays = Number(varOf(env, "AUDIT_RETENTION_DAYS"));
  if (!Number.isSafeInteger(retentionDays) || retentionDays < 1) {
    log("error", "AUDIT_RETENTION_DAYS must be a positive integer; nothing pruned", {});
    return;
  }
  const result = await archiveExpiredDays(env.AUDIT_DB, env.AUDIT_ARCHIVE, { retentionDays });
  if (result.deleted > 0 || result.archived.length > 0) log("info", "audit trail pruned", { ...result });
}

export default {
  queue: (batch, env) =>
    isAuditDeadLetterQueue(batch.queue) ? keepDeadLetters(batch, env) : consumeAuditBatch(batch, env),
  // Two crons, never both jobs in one invocation: replays never overlap at :15.
  async scheduled(controller, env) {
    if (controller.cron === RETENTION_CRON) await pruneTrail(env);
    else await replayHeld(env);
  },
} satisfies ExportedHandler<ConsumerEnv>;
