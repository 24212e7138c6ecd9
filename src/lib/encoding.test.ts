import { describe, expect, it } from "vitest";
import { fromBase64Url, toBase64Url } from "./encoding";

describe("base64url", () => {
  it("encodes without padding or +/ and round-trips every byte value", () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    const text = toBase64Url(all);
    expect(text).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(new Uint8Array(fromBase64Url(text))).toEqual(all);
    expect(toBase64Url(new Uint8Array([0xfb, 0xff]))).toBe("-_8");
  });

  it("encodes inputs longer than one chunk as a whole", () => {
    const big = Uint8Array.from({ length: 0x8000 * 2 + 17 }, (_, i) => (i * 7919) & 255);
    expect(new Uint8Array(fromBase64Url(toBase64Url(big)))).toEqual(big);
  });
});
