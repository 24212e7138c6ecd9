import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ConfigError, codeEntropyBits, parseConfig } from "./config";

const base = { ...env };

describe("parseConfig", () => {
  it("accepts the shipped configuration: 6 of 26 letters, 180 s", () => {
    const config = parseConfig(base);
    expect(config).toMatchObject({ codeLength: 6, codeAlphabet: "abcdefghijklmnopqrstuvwxyz", qrTtlSeconds: 180 });
    expect(codeEntropyBits(6, 26)).toBeCloseTo(28.2, 1);
  });

  it("refuses codes under 20 bits of entropy", () => {
    expect(() => parseConfig({ ...base, CODE_LENGTH: "4" })).toThrow(/entropy/); // 18.8 bits
    expect(() => parseConfig({ ...base, CODE_LENGTH: "5", CODE_ALPHABET: "0123456789" })).toThrow(ConfigError); // 16.6
    expect(parseConfig({ ...base, CODE_LENGTH: "5" }).codeLength).toBe(5); // 23.5 bits
  });

  it("refuses alphabets that normalization would break or that repeat characters", () => {
    expect(() => parseConfig({ ...base, CODE_ALPHABET: "ABCDEFGHIJKLMNOP" })).toThrow(/a-z and 0-9/);
    expect(() => parseConfig({ ...base, CODE_ALPHABET: "abc-defghijklmnop" })).toThrow(ConfigError);
    expect(() => parseConfig({ ...base, CODE_ALPHABET: "aabcdefghijklmnop" })).toThrow(/repeated/);
  });

  it("runs only the regional claim sharding (unset means regional), in a known default region", () => {
    expect(() => parseConfig(base)).not.toThrow();
    expect(() => parseConfig({ ...base, CLAIM_SHARDS: "" })).not.toThrow();
    expect(() => parseConfig({ ...base, CLAIM_SHARDS: "64" })).toThrow(/CLAIM_SHARDS must be "regional"/);
    expect(() => parseConfig({ ...base, CLAIM_SHARDS: "4096" })).toThrow(ConfigError);
    expect(parseConfig(base).claims).toEqual({ defaultRegion: "enam", legacyUntil: 0 });
    expect(parseConfig({ ...base, CLAIM_DEFAULT_REGION: "oc", CLAIM_LEGACY_UNTIL: "1700000000000" }).claims).toEqual({
      defaultRegion: "oc",
      legacyUntil: 1_700_000_000_000,
    });
    expect(() => parseConfig({ ...base, CLAIM_DEFAULT_REGION: "mars" })).toThrow(/location hint/);
    expect(() => parseConfig({ ...base, CLAIM_LEGACY_UNTIL: "soon" })).toThrow(/epoch milliseconds/);
  });

  it("keeps attack mode's minimum short enough that it ends within 2 minutes of an attack", () => {
    expect(parseConfig(base).guessing.minAttackSeconds).toBe(60);
    expect(() => parseConfig({ ...base, ATTACK_MIN_SECONDS: "91" })).toThrow(/at most 90/);
  });

  it("refuses a QR lifetime under KV's 60-second minimum, and non-numbers", () => {
    expect(() => parseConfig({ ...base, QR_TTL_SECONDS: "59" })).toThrow(/at least 60/);
    expect(() => parseConfig({ ...base, QR_TTL_SECONDS: "abc" })).toThrow(ConfigError);
    expect(parseConfig({ ...base, QR_TTL_SECONDS: "60" }).qrTtlSeconds).toBe(60);
  });

  it("refuses a missing or short secret without printing it", () => {
    expect(() => parseConfig({ ...base, SERVER_SECRET: "" })).toThrow(/SERVER_SECRET/);
    try {
      parseConfig({ ...base, SERVER_SECRET: "short-secret-value" });
    } catch (err) {
      expect(String(err)).not.toContain("short-secret-value");
    }
  });

  it("attack-mode codes must be longer than normal ones and carry at least 40 bits", () => {
    expect(parseConfig(base).guessing.attackCodeLength).toBe(10);
    expect(() => parseConfig({ ...base, ATTACK_CODE_LENGTH: "6" })).toThrow(/greater than CODE_LENGTH/);
    expect(() => parseConfig({ ...base, ATTACK_CODE_LENGTH: "8" })).toThrow(/40 bits/); // 37.6 bits
    expect(parseConfig({ ...base, ATTACK_CODE_LENGTH: "9" }).guessing.attackCodeLength).toBe(9); // 42.3 bits
  });

  it("refuses a missing, non-https or non-URL RP_URL; loopback http is for npm run dev", () => {
    expect(() => parseConfig({ ...base, RP_URL: "" })).toThrow(/RP_URL is not set/);
    expect(() => parseConfig({ ...base, RP_URL: "http://qr.example.com" })).toThrow(/https/);
    expect(() => parseConfig({ ...base, RP_URL: "qr.example.com" })).toThrow(/not a URL/);
    expect(parseConfig({ ...base, RP_URL: "http://localhost:8788/" }).rpUrl).toBe("http://localhost:8788");
    expect(parseConfig({ ...base, RP_URL: "https://qr.example.com" }).rpUrl).toBe("https://qr.example.com");
  });
});
