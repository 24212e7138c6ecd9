import { describe, expect, it } from "vitest";
import { claimObjectName, claimRolloutRefusal, parseClaimSharding } from "./claim-shards.js";

const at = (claimShards: string | undefined) => ({ claimShards });

describe("claim sharding", () => {
  it("names the object by the index id's first character", () => {
    expect(claimObjectName("AbCdEf")).toBe("claims:A");
  });

  it("accepts only the 64 sharding (unset means 64)", () => {
    expect(parseClaimSharding(undefined)).toBe("64");
    expect(parseClaimSharding("")).toBe("64");
    expect(parseClaimSharding("64")).toBe("64");
    expect(parseClaimSharding("4096")).toBeNull();
    expect(parseClaimSharding("4096+64")).toBeNull();
  });
});

describe("the deploy rule for 0.6.0 (npm run deploy)", () => {
  it("lets a first deployment, or one on the 64 sharding, through", () => {
    expect(claimRolloutRefusal({ live: null })).toBeNull();
    expect(claimRolloutRefusal({ live: [at("64")] })).toBeNull();
    expect(claimRolloutRefusal({ live: [at("64"), at("64")] })).toBeNull();
  });

  it("refuses a live deployment still on (or moving from) the 4096 sharding", () => {
    expect(claimRolloutRefusal({ live: [at("4096")] })).toMatch(/finish the move to "64" with 0.5.0 first/);
    expect(claimRolloutRefusal({ live: [at(undefined)] })).toMatch(/"4096"/);
    expect(claimRolloutRefusal({ live: [at("4096+64"), at("64")] })).toMatch(/"4096\+64"/);
  });
});
