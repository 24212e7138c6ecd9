import { type AuditEvent, type QueuedAuditEvent, withLoggedTime } from "../../common/audit-contract";
import {
  type HookDelivery,
  type HookSummary,
  hookListGeneration,
  hookMatches,
  listHooks,
} from "../../common/event-hooks";

/**
 * The hook list, read from KV list metadata (no secret) and kept in the isolate until its generation
 * key changes: one KV read per batch, a list only after a hook was created or deleted. A change takes
 * effect at once where it was made and within KV's propagation (up to 60 s) elsewhere.
 */
let cached: { hooks: HookSummary[]; generation: string | null } | null = null;

async function hooksOf(kv: KVNamespace): Promise<HookSummary[]> {
  const generation = await hookListGeneration(kv);
  if (!cached || cached.generation !== generation) cached = { hooks: await listHooks(kv), generation };
  return cached.hooks;
}

/** Queue sendBatch takes at most 100 messages. */
const SEND_BATCH = 100;

/**
 * After a batch is in D1: one delivery message per (matching hook, event) onto the hooks queue,
 * each event as the trail holds it (with its loggedTimeInUTC, read back from D1). A redelivered
 * batch fans out again: hooks get events at least once. With `loggedAt: "eventTime"` the trail is
 * not read (it may be down): each event goes out with its event time as its logged time.
 */
export async function fanOutToHooks(
  env: Pick<ConsumerEnv, "AUDIT_DB" | "QR_KV" | "HOOK_QUEUE">,
  events: QueuedAuditEvent[],
  { loggedAt = "trail" }: { loggedAt?: "trail" | "eventTime" } = {},
): Promise<number> {
  const hooks = await hooksOf(env.QR_KV);
  if (hooks.length === 0 || events.length === 0) return 0;
  const matching = events.filter((e) => hooks.some((h) => hookMatches(h, e)));
  if (matching.length === 0) return 0;
  const { results } =
    loggedAt === "eventTime"
      ? { results: [] }
      : await env.AUDIT_DB.prepare(
          "SELECT id, loggedTimeInUTC FROM audit_events WHERE id IN (SELECT value FROM json_each(?1))",
        )
          .bind(JSON.stringify(matching.map((e) => e.id)))
          .all<{ id: string; loggedTimeInUTC: number }>();
  const logged = new Map(results.map((r) => [r.id, r.loggedTimeInUTC]));
  const deliveries: HookDelivery[] = [];
  for (const event of matching) {
    const stored: AuditEvent = withLoggedTime(event, logged.get(event.id) ?? event.eventTimeInUTC);
    for (const hook of hooks) if (hookMatches(hook, event)) deliveries.push({ hookId: hook.id, event: stored });
  }
  for (let i = 0; i < deliveries.length; i += SEND_BATCH) {
    await env.HOOK_QUEUE.sendBatch(
      deliveries.slice(i, i + SEND_BATCH).map((body) => ({ body, contentType: "json" as const })),
    );
  }
  return deliveries.length;
}
