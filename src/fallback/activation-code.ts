/** One activation code (CodeDrawer), its pool sized for it. */
export function generateActivationCode(length: number, alphabet: string): string {
  return codeText(new CodeDrawer(length, alphabet, length * 2).next());
}

/** Random bytes a CodeDrawer fetches per getRandomValues call: enough for a create's usual draws. */
const POOL_BYTES = 256;

/**
 * Activation codes: drawn from the Web Crypto CSPRNG with rejection sampling, so every character
 * is exactly uniform over the alphabet (a plain `byte % n` would favour the first 256 % n symbols).
 * Codes come as their ASCII bytes, for a create that hashes many candidates to keep one: random
 * bytes are fetched a pool at a time (one getRandomValues call serves several codes), and only the
 * code kept is turned into text (`codeText`).
 */
export class CodeDrawer {
  private readonly symbols: Uint8Array;
  private readonly limit: number;
  private readonly pool: Uint8Array;
  private used: number;

  constructor(
    private readonly length: number,
    alphabet: string,
    poolBytes = POOL_BYTES,
  ) {
    this.symbols = new TextEncoder().encode(alphabet);
    // One byte per character: the bytes are the code's UTF-8, which its index is the HMAC of.
    if (this.symbols.length !== alphabet.length) throw new Error("a code alphabet is ASCII");
    // Largest multiple of the alphabet's size that fits in a byte: bytes at or above it are thrown away.
    this.limit = 256 - (256 % alphabet.length);
    this.pool = new Uint8Array(poolBytes);
    this.used = poolBytes;
  }

  /** The next code's bytes, in a fresh array (a candidate may still be hashed while the next is drawn). */
  next(): Uint8Array {
    const code = new Uint8Array(this.length);
    const n = this.symbols.length;
    for (let i = 0; i < this.length; ) {
      if (this.used === this.pool.length) {
        crypto.getRandomValues(this.pool);
        this.used = 0;
      }
      const byte = this.pool[this.used++];
      if (byte < this.limit) code[i++] = this.symbols[byte % n];
    }
    return code;
  }
}

const decoder = new TextDecoder();
/** A code's text from its bytes (UTF-8, so any code TextEncoder gave comes back as it was). */
export const codeText = (bytes: Uint8Array): string => decoder.decode(bytes);

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
