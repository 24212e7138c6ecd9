/**
 * Event hooks as both Workers see them: the main Worker stores and delivers them (src/hooks/), the
 * audit consumer reads this list to fan events out. Nothing here is secret: the header values and
 * signing secret live sealed in the record, never in its list metadata.
 */
import type { AuditEvent, QueuedAuditEvent } from "./audit-contract";
import { hookListGenerationKey, KV_PREFIXES } from "./kv-keys.js";
import { listMetadata } from "./kv-list";

/** What the fan-out needs to match events, kept as KV list metadata: nothing secret. */
export interface HookSummary {
  id: string;
  name: string;
  eventType: string;
  rpAppId: string | null;
  invocationEndpoint: string;
  httpMethod: "POST" | "PUT";
  authType: "NONE" | "BASIC" | "BEARER";
  format: "json" | "splunk-hec";
  headerNames: string[];
  createdAt: number;
}

/** One delivery: a matching event for one hook, as the trail holds it. */
export interface HookDelivery {
  hookId: string;
  event: AuditEvent;
}

export function hookMatches(hook: Pick<HookSummary, "eventType" | "rpAppId">, event: QueuedAuditEvent): boolean {
  return (
    (hook.eventType === "ALL" || hook.eventType === event.eventName) &&
    (!hook.rpAppId || hook.rpAppId === event.rpAppId)
  );
}

/** The list's generation: a new value after every change (null before the first hook). */
export function hookListGeneration(kv: KVNamespace): Promise<string | null> {
  return kv.get(hookListGenerationKey());
}

/** Every hook (list metadata only: no secret is read). */
export async function listHooks(kv: KVNamespace): Promise<HookSummary[]> {
  const hooks = await listMetadata<HookSummary>(kv, KV_PREFIXES.hook);
  return hooks.sort((a, b) => a.createdAt - b.createdAt);
}
