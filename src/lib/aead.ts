/** AES-256-GCM sealing as the stores use it: `iv(12) ‖ ciphertext`, with additional data bound in. */
const IV_BYTES = 12;
const enc = new TextEncoder();

export async function sealWith(key: CryptoKey, plaintext: string, additionalData: string): Promise<ArrayBuffer> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const ct = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: enc.encode(additionalData) },
    key,
    enc.encode(plaintext),
  );
  const out = new Uint8Array(IV_BYTES + ct.byteLength);
  out.set(iv, 0);
  out.set(new Uint8Array(ct), IV_BYTES);
  return out.buffer;
}

/** The plaintext, or null when the value does not authenticate (tampered, another key or data). */
export async function openWith(key: CryptoKey, sealed: ArrayBuffer, additionalData: string): Promise<string | null> {
  if (sealed.byteLength <= IV_BYTES) return null;
  try {
    const pt = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: new Uint8Array(sealed, 0, IV_BYTES), additionalData: enc.encode(additionalData) },
      key,
      new Uint8Array(sealed, IV_BYTES),
    );
    return new TextDecoder().decode(pt);
  } catch {
    return null;
  }
}
