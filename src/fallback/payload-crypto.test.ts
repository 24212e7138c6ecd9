import { describe, expect, it } from "vitest";
import { indexIdOf, openPayload, pendingKeys, sealPayload } from "./payload-crypto";

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
