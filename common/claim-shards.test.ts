import { describe, expect, it } from "vitest";
import { toBase64Url } from "../src/lib/encoding";
import {
  attackCheckObjectName,
  claimLegacyUntil,
  claimObjectName,
  claimRolloutRefusal,
  LEGACY_CLAIMS_LIVE_SECONDS,
  legacyClaimObjectName,
  parseClaimSharding,
} from "./claim-shards.js";
import {
  charsOfRegion,
  indexCharOfBits,
  REGIONS,
  regionOfIndex,
  regionOfIndexByte,
  regionOfRequest,
} from "./regions.js";

const v = (claimShards: string | undefined, hasGuessBudget = true, claimLegacyUntil?: number) => ({
  claimShards,
  hasGuessBudget,
  claimLegacyUntil,
});

describe("claim sharding", () => {
  it("names the object by the index id's first character and the region holding it", () => {
    expect(claimObjectName("AbCdEf")).toBe("claims:wnam:A");
    expect(claimObjectName("_bCdEf")).toBe("claims:me:_");
    expect(legacyClaimObjectName("AbCdEf")).toBe("claims:A");
  });

  it("gives every region 64 attack-check objects, its own claim shards among them", () => {
    for (const near of REGIONS) {
      const names = Array.from({ length: 64 }, (_, bits) => attackCheckObjectName(indexCharOfBits(bits), near));
      expect(new Set(names).size).toBe(64);
      for (const c of charsOfRegion(near)) expect(names).toContain(claimObjectName(c));
    }
  });

  it("accepts only the regional sharding (unset means regional)", () => {
    expect(parseClaimSharding(undefined)).toBe("regional");
    expect(parseClaimSharding("")).toBe("regional");
    expect(parseClaimSharding("regional")).toBe("regional");
    expect(parseClaimSharding("64")).toBeNull();
    expect(parseClaimSharding("4096")).toBeNull();
  });
});

describe("regions", () => {
  it("every index character belongs to exactly one region, 7 or 8 to each", () => {
    const all = REGIONS.flatMap((r) => charsOfRegion(r));
    expect(all).toHaveLength(64);
    expect(new Set(all).size).toBe(64);
    for (const r of REGIONS) expect([7, 8]).toContain(charsOfRegion(r).length);
    for (const r of REGIONS) for (const c of charsOfRegion(r)) expect(regionOfIndex(`${c}xyz`)).toBe(r);
  });

  it("gives an index's region from its HMAC's first byte as from its id, for every byte", () => {
    for (let byte = 0; byte < 256; byte++) {
      const mac = new Uint8Array(32);
      mac[0] = byte;
      mac.fill(0xff, 1);
      expect(regionOfIndexByte(byte)).toBe(regionOfIndex(toBase64Url(mac)));
    }
  });

  it("maps a request's location to the nearest hint, and no location to the default", () => {
    expect(regionOfRequest(undefined, "weur")).toBe("weur");
    expect(regionOfRequest({ continent: "NA", longitude: "-122.4" }, "enam")).toBe("wnam");
    expect(regionOfRequest({ continent: "NA", longitude: "-74.0" }, "wnam")).toBe("enam");
    expect(regionOfRequest({ continent: "EU", longitude: "2.35" }, "enam")).toBe("weur");
    expect(regionOfRequest({ continent: "EU", longitude: "21.0" }, "enam")).toBe("eeur");
    expect(regionOfRequest({ continent: "AS", country: "SG" }, "enam")).toBe("apac");
    expect(regionOfRequest({ continent: "AS", country: "AE" }, "enam")).toBe("me");
    expect(regionOfRequest({ continent: "OC", country: "AU" }, "enam")).toBe("oc");
    expect(regionOfRequest({ continent: "SA", country: "BR" }, "enam")).toBe("sam");
    expect(regionOfRequest({ continent: "AF", country: "ZA" }, "enam")).toBe("afr");
  });
});

describe("the deploy rule (npm run deploy)", () => {
  it("lets a first deployment, a 0.7 one (64, set or by default) or a regional one through", () => {
    expect(claimRolloutRefusal({ live: null })).toBeNull();
    expect(claimRolloutRefusal({ live: [v("64")] })).toBeNull();
    expect(claimRolloutRefusal({ live: [v(undefined)] })).toBeNull();
    expect(claimRolloutRefusal({ live: [v("regional"), v(undefined)] })).toBeNull();
  });

  it("refuses a live deployment still on (or moving from) the 4096 sharding", () => {
    expect(claimRolloutRefusal({ live: [v("4096")] })).toMatch(/finish the move to "64" with 0.5.0 first/);
    expect(claimRolloutRefusal({ live: [v(undefined, false)] })).toMatch(/"4096"/);
    expect(claimRolloutRefusal({ live: [v("4096+64"), v("64")] })).toMatch(/"4096\+64"/);
  });

  it("carries legacy claims: 30 minutes past a deploy over a 0.7 version, a live window kept, else none", () => {
    const now = 1_000_000;
    expect(claimLegacyUntil({ live: null, now })).toBeNull();
    expect(claimLegacyUntil({ live: [v(undefined)], now })).toBe(now + LEGACY_CLAIMS_LIVE_SECONDS * 1000);
    expect(claimLegacyUntil({ live: [v("regional", true, now + 5_000)], now })).toBe(now + 5_000);
    expect(claimLegacyUntil({ live: [v("regional", true, now - 1)], now })).toBeNull();
    expect(claimLegacyUntil({ live: [v("regional")], now })).toBeNull();
  });
});
