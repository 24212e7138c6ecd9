import { describe, expect, it } from "vitest";
import { regionOfIndex, regionOfIndexByte } from "../../common/regions.js";
import { toBase64Url } from "../lib/encoding";
import { CodeDrawer, codeText } from "./activation-code";
import { indexIdOf, indexMacOf, openPayload, pendingKeys, sealPayload } from "./payload-crypto";

const SECRET_A = "a".repeat(64);
const SECRET_B = "b".repeat(64);

describe("pending payload crypto", () => {
  it("derives a stable index id per code and secret, different across both", async () => {
    const a = await pendingKeys(SECRET_A);
    const id = await indexIdOf(a, "lpptzh");
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await indexIdOf(a, "lpptzh")).toBe(id);
    expect(await indexIdOf(a, "lpptzi")).not.toBe(id);
    expect(await indexIdOf(await pendingKeys(SECRET_B), "lpptzh")).not.toBe(id);
  });

  it("a drawn code's HMAC gives its index id and, by its first byte alone, its region", async () => {
    // What a create tests each candidate with must agree with where the code's claim is looked up.
    const keys = await pendingKeys(SECRET_A);
    const firstChars = new Set<string>();
    for (const [length, alphabet] of [
      [6, "abcdefghijklmnopqrstuvwxyz"],
      [10, "abcdefghjkmnpqrstuvwxyz23456789"],
    ] as const) {
      const drawer = new CodeDrawer(length, alphabet);
      for (let i = 0; i < 2_000; i++) {
        const bytes = drawer.next();
        const code = codeText(bytes);
        const mac = await indexMacOf(keys, bytes);
        const indexId = await indexIdOf(keys, code);
        expect(toBase64Url(mac)).toBe(indexId);
        expect(regionOfIndexByte(mac[0])).toBe(regionOfIndex(indexId));
        firstChars.add(indexId[0]);
      }
    }
    // Every first character, so every region's part of the index space, was compared.
    expect(firstChars.size).toBe(64);
  });

  it("round-trips, and refuses another code, another secret, another index id or a flipped bit", async () => {
    const keys = await pendingKeys(SECRET_A);
    const id = await indexIdOf(keys, "lpptzh");
    const sealed = await sealPayload(keys, "lpptzh", id, '{"pin":"00ff"}');
    expect(new TextDecoder().decode(sealed)).not.toContain("00ff");
    expect(await openPayload(keys, "lpptzh", id, sealed)).toBe('{"pin":"00ff"}');
    expect(await openPayload(keys, "lpptzi", id, sealed)).toBeNull();
    expect(await openPayload(keys, "lpptzh", "other-id", sealed)).toBeNull();
    expect(await openPayload(await pendingKeys(SECRET_B), "lpptzh", id, sealed)).toBeNull();
    const tampered = new Uint8Array(sealed.slice(0));
    tampered[tampered.length - 1] ^= 1;
    expect(await openPayload(keys, "lpptzh", id, tampered.buffer)).toBeNull();
    expect(await openPayload(keys, "lpptzh", id, new ArrayBuffer(5))).toBeNull();
  });

  it("uses a fresh IV per seal", async () => {
    const keys = await pendingKeys(SECRET_A);
    const one = new Uint8Array(await sealPayload(keys, "c", "i", "x"));
    const two = new Uint8Array(await sealPayload(keys, "c", "i", "x"));
    expect(one.slice(0, 12)).not.toEqual(two.slice(0, 12));
  });
});
