/**
 * Activation codes: drawn from the Web Crypto CSPRNG with rejection sampling, so every character
 * is exactly uniform over the alphabet (a plain `byte % n` would favour the first 256 % n symbols).
 */
export function generateActivationCode(length: number, alphabet: string): string {
  const n = alphabet.length;
  // Largest multiple of n that fits in a byte: bytes at or above it are thrown away.
  const limit = 256 - (256 % n);
  let code = "";
  const buf = new Uint8Array(length * 2);
  while (code.length < length) {
    crypto.getRandomValues(buf);
    for (const byte of buf) {
      if (byte < limit) {
        code += alphabet[byte % n];
        if (code.length === length) break;
      }
    }
  }
  return code;
}

/** What a person may type: any case, with spaces or dashes for readability. */
export function normalizeActivationCode(input: string): string {
  return input.toLowerCase().replace(/[\s-]/g, "");
}

/** True when a normalized code could have been issued under this configuration. */
export function isWellFormedCode(code: string, length: number, alphabet: string): boolean {
  if (code.length !== length) return false;
  for (const ch of code) if (!alphabet.includes(ch)) return false;
  return true;
}

/** Which budget a normalized code is guessed against: normal length, attack-mode length, or neither. */
export function codeClassOf(
  code: string,
  config: { codeLength: number; codeAlphabet: string; guessing: { attackCodeLength: number } },
): "normal" | "long" | null {
  if (isWellFormedCode(code, config.codeLength, config.codeAlphabet)) return "normal";
  if (isWellFormedCode(code, config.guessing.attackCodeLength, config.codeAlphabet)) return "long";
  return null;
}
