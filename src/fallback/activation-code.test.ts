import { describe, expect, it } from "vitest";
import {
  CodeDrawer,
  codeText,
  generateActivationCode,
  isWellFormedCode,
  normalizeActivationCode,
} from "./activation-code";

const ALPHABET = "abcdefghijklmnopqrstuvwxyz";

/** Pearson's chi-square statistic of observed counts against a uniform distribution. */
function chiSquare(counts: number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  const expected = total / counts.length;
  return counts.reduce((sum, n) => sum + (n - expected) ** 2 / expected, 0);
}

/** Upper critical value of chi-square with `df` degrees of freedom at z standard deviations (Wilson-Hilferty). */
function chiSquareCritical(df: number, z: number): number {
  const a = 2 / (9 * df);
  return df * (1 - a + z * Math.sqrt(a)) ** 3;
}

function countsOf(codes: string[], alphabet: string, position?: number): number[] {
  const counts = new Array(alphabet.length).fill(0);
  for (const code of codes) {
    const chars = position === undefined ? [...code] : [code[position]];
    for (const ch of chars) counts[alphabet.indexOf(ch)]++;
  }
  return counts;
}

// z = 5: a correct generator fails this by chance about once in 3.5 million runs.
const Z = 5;

describe("generateActivationCode", () => {
  it("draws codes of the configured length from the configured alphabet", () => {
    for (const [length, alphabet] of [
      [6, ALPHABET],
      [10, "0123456789"],
      [8, "abcdefghjkmnpqrstuvwxyz23456789"],
    ] as const) {
      const code = generateActivationCode(length, alphabet);
      expect(code).toHaveLength(length);
      expect(isWellFormedCode(code, length, alphabet)).toBe(true);
    }
  });

  it("is uniform over characters and over every position (chi-square over 30,000 codes)", () => {
    const codes = Array.from({ length: 30_000 }, () => generateActivationCode(6, ALPHABET));
    const critical = chiSquareCritical(ALPHABET.length - 1, Z);
    expect(chiSquare(countsOf(codes, ALPHABET))).toBeLessThan(critical);
    for (let p = 0; p < 6; p++) expect(chiSquare(countsOf(codes, ALPHABET, p))).toBeLessThan(critical);
  });

  it("the same test catches the modulo bias that rejection sampling avoids", () => {
    // byte % 26 favours the first 256 % 26 = 22 letters by 10/9: the statistic must see it.
    const biased = Array.from({ length: 30_000 }, () =>
      [...crypto.getRandomValues(new Uint8Array(6))].map((b) => ALPHABET[b % 26]).join(""),
    );
    expect(chiSquare(countsOf(biased, ALPHABET))).toBeGreaterThan(chiSquareCritical(ALPHABET.length - 1, Z));
  });

  it("is uniform for an alphabet size that does not divide 256 (10 digits)", () => {
    const digits = "0123456789";
    const codes = Array.from({ length: 20_000 }, () => generateActivationCode(8, digits));
    expect(chiSquare(countsOf(codes, digits))).toBeLessThan(chiSquareCritical(9, Z));
  });

  it("does not repeat codes in practice", () => {
    const codes = new Set(Array.from({ length: 10_000 }, () => generateActivationCode(6, ALPHABET)));
    // 10^4 draws from 3.1e8: a repeat has probability ~0.16; more than 3 would mean a broken source.
    expect(codes.size).toBeGreaterThan(9_996);
  });
});

describe("CodeDrawer", () => {
  /** `n` successive codes of one drawer, as text. */
  const drawn = (n: number, length: number, alphabet: string, poolBytes?: number) => {
    const drawer = new CodeDrawer(length, alphabet, poolBytes);
    return Array.from({ length: n }, () => codeText(drawer.next()));
  };

  it("draws successive codes of the configured length from the configured alphabet, each a fresh array", () => {
    const drawer = new CodeDrawer(8, "0123456789");
    const first = drawer.next();
    const copy = first.slice();
    for (let i = 0; i < 100; i++) expect(isWellFormedCode(codeText(drawer.next()), 8, "0123456789")).toBe(true);
    expect(first).toEqual(copy);
  });

  // A pool of 7 bytes is refilled within most codes; the default pool serves dozens of codes per fill.
  for (const poolBytes of [7, undefined]) {
    it(`is uniform over characters and every position of successive codes (pool ${poolBytes ?? "default"})`, () => {
      const codes = drawn(30_000, 6, ALPHABET, poolBytes);
      const critical = chiSquareCritical(ALPHABET.length - 1, Z);
      expect(chiSquare(countsOf(codes, ALPHABET))).toBeLessThan(critical);
      for (let p = 0; p < 6; p++) expect(chiSquare(countsOf(codes, ALPHABET, p))).toBeLessThan(critical);
      expect(new Set(codes).size).toBeGreaterThan(29_990);
    });
  }

  it("is uniform for an alphabet size that does not divide 256 (31 characters)", () => {
    const alphabet = "abcdefghjkmnpqrstuvwxyz23456789";
    const codes = drawn(20_000, 8, alphabet);
    expect(chiSquare(countsOf(codes, alphabet))).toBeLessThan(chiSquareCritical(alphabet.length - 1, Z));
  });

  it("refuses an alphabet whose characters are not one byte each", () => {
    expect(() => new CodeDrawer(6, "abcé")).toThrow();
  });
});

describe("normalizeActivationCode", () => {
  it("case-folds and strips spaces and dashes", () => {
    expect(normalizeActivationCode(" LPP-tzh ")).toBe("lpptzh");
    expect(normalizeActivationCode("l p\tp\nt-z-h")).toBe("lpptzh");
  });

  it("leaves other characters for the well-formedness check to refuse", () => {
    const code = normalizeActivationCode("lpp_tz!");
    expect(isWellFormedCode(code, 6, ALPHABET)).toBe(false);
    expect(isWellFormedCode("lpptz", 6, ALPHABET)).toBe(false);
    expect(isWellFormedCode("lpptzh", 6, ALPHABET)).toBe(true);
  });
});
