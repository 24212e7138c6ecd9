import type { HookSummary } from "../../common/event-hooks";
import { hookKey, hookListGenerationKey, hookStatusKey } from "../../common/kv-keys.js";
import { openWith, sealWith } from "../lib/aead";
import { fromBase64Url, toBase64Url } from "../lib/encoding";

export { type HookSummary, listHooks } from "../../common/event-hooks";

/** The secrets of a hook: its header values and its signing secret, sealed in the record. */
export interface HookSecrets {
  headerParameters: Record<string, string>;
  signingSecret: string;
}

interface HookRecord extends HookSummary {
  /** base64url(iv ‖ AES-256-GCM(JSON HookSecrets)), additional data = the hook id. */
  sealedSecrets: string;
}

export interface HookStatus {
  lastSuccessAt: number | null;
  lastErrorAt: number | null;
  lastError: string | null;
  delivered: number;
  failed: number;
  deadLettered: number;
}

const enc = new TextEncoder();
const keyCache = new Map<string, Promise<CryptoKey>>();

/** AES-256-GCM key for hook secrets: HKDF(SERVER_SECRET, info "qr-fallback/hook-secrets/v1"). */
function secretsKey(serverSecret: string): Promise<CryptoKey> {
  let key = keyCache.get(serverSecret);
  if (!key) {
    key = (async () => {
      const root = await crypto.subtle.importKey("raw", enc.encode(serverSecret), "HKDF", false, ["deriveKey"]);
      return crypto.subtle.deriveKey(
        { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(), info: enc.encode("qr-fallback/hook-secrets/v1") },
        root,
        { name: "AES-GCM", length: 256 },
        false,
        ["encrypt", "decrypt"],
      );
    })();
    keyCache.clear();
    keyCache.set(serverSecret, key);
  }
  return key;
}

async function seal(serverSecret: string, id: string, secrets: HookSecrets): Promise<string> {
  return toBase64Url(await sealWith(await secretsKey(serverSecret), JSON.stringify(secrets), id));
}

async function open(serverSecret: string, id: string, sealed: string): Promise<HookSecrets> {
  const text = await openWith(await secretsKey(serverSecret), fromBase64Url(sealed), id);
  if (text === null) throw new Error(`hook ${id}: its secrets do not open (SERVER_SECRET changed?)`);
  return JSON.parse(text) as HookSecrets;
}

/** Stores a new hook; returns it with its signing secret, the only time that secret is shown. */
export async function createHook(
  kv: KVNamespace,
  serverSecret: string,
  fields: Omit<HookSummary, "id" | "createdAt" | "headerNames"> & { headerParameters: Record<string, string> },
): Promise<{ hook: HookSummary; secret: string }> {
  const { headerParameters, ...rest } = fields;
  const hook: HookSummary = {
    ...rest,
    id: crypto.randomUUID(),
    headerNames: Object.keys(headerParameters),
    createdAt: Date.now(),
  };
  // Standard Webhooks: `whsec_` + base64 of the key (32 random bytes).
  const signingSecret = `whsec_${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))}`;
  const record: HookRecord = {
    ...hook,
    sealedSecrets: await seal(serverSecret, hook.id, { headerParameters, signingSecret }),
  };
  await kv.put(hookKey(hook.id), JSON.stringify(record), { metadata: hook });
  await kv.put(hookListGenerationKey(), crypto.randomUUID());
  return { hook, secret: signingSecret };
}

/** A hook with its secrets opened, for delivery; null when it was deleted. */
export async function openHook(
  kv: KVNamespace,
  serverSecret: string,
  id: string,
): Promise<(HookSummary & HookSecrets) | null> {
  const record = await kv.get<HookRecord>(hookKey(id), "json");
  if (!record) return null;
  const { sealedSecrets, ...hook } = record;
  return { ...hook, ...(await open(serverSecret, id, sealedSecrets)) };
}

export async function deleteHook(kv: KVNamespace, id: string): Promise<boolean> {
  if ((await kv.get(hookKey(id))) === null) return false;
  await Promise.all([kv.delete(hookKey(id)), kv.delete(hookStatusKey(id))]);
  await kv.put(hookListGenerationKey(), crypto.randomUUID());
  return true;
}

const NO_STATUS: HookStatus = {
  lastSuccessAt: null,
  lastErrorAt: null,
  lastError: null,
  delivered: 0,
  failed: 0,
  deadLettered: 0,
};

export async function getHookStatus(kv: KVNamespace, id: string): Promise<HookStatus> {
  return (await kv.get<HookStatus>(hookStatusKey(id), "json")) ?? NO_STATUS;
}

/** Folds one batch's outcomes for a hook into its status (one KV write per hook per batch). */
export async function updateHookStatus(
  kv: KVNamespace,
  id: string,
  change: { delivered?: number; failed?: number; deadLettered?: number; error?: string },
): Promise<void> {
  const now = Date.now();
  const status = await getHookStatus(kv, id);
  const next: HookStatus = {
    ...status,
    delivered: status.delivered + (change.delivered ?? 0),
    failed: status.failed + (change.failed ?? 0),
    deadLettered: status.deadLettered + (change.deadLettered ?? 0),
    lastSuccessAt: change.delivered ? now : status.lastSuccessAt,
    lastErrorAt: change.error ? now : status.lastErrorAt,
    lastError: change.error ? change.error.slice(0, 300) : status.lastError,
  };
  await kv.put(hookStatusKey(id), JSON.stringify(next));
}
