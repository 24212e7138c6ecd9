/**
 * Keys for the pending-payload store, all derived from the server secret with HKDF-SHA-256:
 * - the KV key of an entry is HMAC-SHA-256(indexKey, normalized code), so the code is never stored;
 * - its value is AES-256-GCM under a key derived from the secret and the code, so a dump of the
 *   namespace reveals neither codes nor payloads, and the secret alone does not decrypt without the code.
 */
import { openWith, sealWith } from "../lib/aead";
import { toBase64Url } from "../lib/encoding";
import { joinShared } from "../lib/shared-promise";

const enc = new TextEncoder();
const INDEX_INFO = enc.encode("qr-fallback/pending-index/v1");
const PAYLOAD_INFO_PREFIX = "qr-fallback/pending-payload/v1/";

export interface PendingKeys {
  indexKey: CryptoKey;
  payloadRoot: CryptoKey;
}

const keyCache = new Map<string, { keys?: PendingKeys; importing: Promise<PendingKeys> }>();

/**
 * Imported once per isolate and secret: key import is the slow part of every lookup. Once imported
 * the keys are handed out as they are; only the first requests, while the import is under way,
 * join it (src/lib/shared-promise.ts).
 */
export async function pendingKeys(serverSecret: string): Promise<PendingKeys> {
  let entry = keyCache.get(serverSecret);
  if (!entry) {
    const importing = importPendingKeys(serverSecret);
    const created: { keys?: PendingKeys; importing: Promise<PendingKeys> } = { importing };
    importing.then(
      (keys) => {
        created.keys = keys;
      },
      () => keyCache.delete(serverSecret), // a failed import is tried again by the next request
    );
    keyCache.clear();
    keyCache.set(serverSecret, created);
    entry = created;
  }
  return entry.keys ?? joinShared(entry.importing);
}

async function importPendingKeys(serverSecret: string): Promise<PendingKeys> {
  const root = await crypto.subtle.importKey("raw", enc.encode(serverSecret), "HKDF", false, ["deriveKey"]);
  const indexKey = await crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(), info: INDEX_INFO },
    root,
    { name: "HMAC", hash: "SHA-256", length: 256 },
    false,
    ["sign"],
  );
  return { indexKey, payloadRoot: root };
}

/** base64url(HMAC-SHA-256(indexKey, code)): the storage id of a code. */
export async function indexIdOf(keys: PendingKeys, code: string): Promise<string> {
  return toBase64Url(await indexMacOf(keys, enc.encode(code)));
}

/** HMAC-SHA-256(indexKey, code's UTF-8 bytes): what an index id encodes (`toBase64Url`), unencoded. */
export async function indexMacOf(keys: PendingKeys, code: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign("HMAC", keys.indexKey, code));
}

function payloadKey(keys: PendingKeys, code: string): Promise<CryptoKey> {
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(), info: enc.encode(PAYLOAD_INFO_PREFIX + code) },
    keys.payloadRoot,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

/** iv || ciphertext; the index id is bound as additional data so values cannot be moved between keys. */
export async function sealPayload(keys: PendingKeys, code: string, indexId: string, plaintext: string) {
  return sealWith(await payloadKey(keys, code), plaintext, indexId);
}

/** Returns null when the value does not authenticate (tampered, or another secret or code). */
export async function openPayload(
  keys: PendingKeys,
  code: string,
  indexId: string,
  sealed: ArrayBuffer,
): Promise<string | null> {
  return openWith(await payloadKey(keys, code), sealed, indexId);
}
