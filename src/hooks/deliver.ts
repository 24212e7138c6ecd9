import type { AuditEvent } from "../../common/audit-contract";
import type { HookDelivery } from "../../common/event-hooks";

export type { HookDelivery };

import { log } from "../../common/log";
import { toHex } from "../lib/encoding";
import { type HookSecrets, type HookSummary, openHook, updateHookStatus } from "./hook-store";

/** A delivery not answered within this is a failure, retried like any other. */
export const DELIVERY_TIMEOUT_MS = 10_000;

/** Delay before retrying a failed delivery: base, 2×base, 4×base ... capped at 15 minutes. */
export function hookRetryDelaySeconds(attempts: number, baseSeconds: number): number {
  return Math.min(900, baseSeconds * 2 ** Math.max(0, attempts - 1));
}

/** The body a hook receives: the event as the trail holds it, or a Splunk HEC envelope around it. */
export function hookBody(hook: Pick<HookSummary, "format">, event: AuditEvent): string {
  if (hook.format === "splunk-hec") {
    return JSON.stringify({
      time: event.eventTimeInUTC / 1000,
      host: event.tenantId,
      source: "qr-fallback",
      sourcetype: "qr-fallback:audit",
      event,
    });
  }
  return JSON.stringify(event);
}

/**
 * The Standard Webhooks headers of one delivery attempt: `webhook-id` (the event's id, the same on
 * every retry), `webhook-timestamp` (this attempt's) and `webhook-signature` (`v1,` + base64 of
 * HMAC-SHA-256 over `id.timestamp.body` under the key the `whsec_` secret encodes in base64).
 * Secrets made before 0.6.0 (`whsec_` + 64 hex digits) decode as base64 too: receivers keep them.
 */
export async function standardWebhookHeaders(secret: string, id: string, body: string, now = new Date()) {
  const timestamp = String(Math.floor(now.getTime() / 1000));
  const keyBytes = Uint8Array.from(atob(secret.replace(/^whsec_/, "")), (c) => c.charCodeAt(0));
  const key = await crypto.subtle.importKey("raw", keyBytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${id}.${timestamp}.${body}`));
  return {
    "webhook-id": id,
    "webhook-timestamp": timestamp,
    "webhook-signature": `v1,${btoa(String.fromCharCode(...new Uint8Array(mac)))}`,
  };
}

/** Legacy (before 0.6.0, kept for existing receivers): `sha256=<hex HMAC-SHA-256 of the body under the secret's text>`. */
export async function signature(secret: string, body: string): Promise<string> {
  const enc = new TextEncoder();
  const key = await crypto.subtle.importKey("raw", enc.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  return `sha256=${toHex(await crypto.subtle.sign("HMAC", key, enc.encode(body)))}`;
}

async function send(hook: HookSummary & HookSecrets, event: AuditEvent): Promise<void> {
  const body = hookBody(hook, event);
  const res = await fetch(hook.invocationEndpoint, {
    method: hook.httpMethod,
    headers: {
      ...hook.headerParameters,
      "Content-Type": "application/json",
      "User-Agent": "qr-fallback-event-hooks/1",
      ...(await standardWebhookHeaders(hook.signingSecret, event.id, body)),
      "X-QRF-Event-Id": event.id,
      "X-QRF-Signature": await signature(hook.signingSecret, body),
    },
    body,
    redirect: "manual",
    signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
  });
  await res.body?.cancel();
  if (res.status < 200 || res.status >= 300) throw new Error(`endpoint answered ${res.status}`);
}

/**
 * Queue consumer of the hooks queue: each message is delivered at least once; a failure is retried
 * with backoff, and after `max_retries` the queue moves it to the dead-letter queue. A hook deleted
 * meanwhile drops its messages. The D1 trail never waits for any of this.
 */
export async function deliverHookBatch(
  batch: MessageBatch<HookDelivery>,
  kv: KVNamespace,
  serverSecret: string,
  retryBaseSeconds: number,
): Promise<void> {
  const outcomes = new Map<string, { delivered: number; failed: number; error?: string }>();
  const hooks = new Map<string, Promise<(HookSummary & HookSecrets) | null>>();
  for (const message of batch.messages) {
    const { hookId, event } = message.body;
    if (!hooks.has(hookId)) hooks.set(hookId, openHook(kv, serverSecret, hookId));
    const hook = await hooks.get(hookId);
    if (!hook) {
      message.ack();
      continue;
    }
    const outcome = outcomes.get(hookId) ?? { delivered: 0, failed: 0 };
    outcomes.set(hookId, outcome);
    try {
      await send(hook, event);
      outcome.delivered++;
      message.ack();
    } catch (err) {
      outcome.failed++;
      outcome.error = `attempt ${message.attempts}: ${err instanceof Error ? err.message : String(err)}`;
      message.retry({ delaySeconds: hookRetryDelaySeconds(message.attempts, retryBaseSeconds) });
    }
  }
  await Promise.all([...outcomes].map(([id, change]) => updateHookStatus(kv, id, change)));
}

/** Consumer of the hooks' dead-letter queue: what was given up on is counted in the hook's status. */
export async function recordDeadLetters(batch: MessageBatch<HookDelivery>, kv: KVNamespace): Promise<void> {
  const counts = new Map<string, number>();
  for (const message of batch.messages) {
    counts.set(message.body.hookId, (counts.get(message.body.hookId) ?? 0) + 1);
    message.ack();
  }
  for (const [id, n] of counts) {
    log("warn", "event hook deliveries dead-lettered", { hookId: id, count: n });
    await updateHookStatus(kv, id, { deadLettered: n, error: `${n} deliveries dead-lettered after the last retry` });
  }
}

/** The hooks' dead-letter queue, in every environment: `qr-fallback-hooks-dlq`, `...-dlq-staging`, `...-dlq-production`. */
export const isHookDeadLetterQueue = (queue: string) => /-dlq(-[a-z0-9-]+)?$/.test(queue);
