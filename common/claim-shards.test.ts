import { describe, expect, it } from "vitest";
import { claimObjectNames, claimRolloutRefusal } from "./claim-shards.js";

const at = (claimShards: string | undefined, qrTtlSeconds = 180) => ({ claimShards, qrTtlSeconds });
const rollout = (target: "4096" | "4096+64" | "64", live: ReturnType<typeof at>[] | null, deployedSecondsAgo = 0) =>
  claimRolloutRefusal({ target, targetQrTtlSeconds: 180, deployedSecondsAgo, live });

describe("claim shardings", () => {
  it("name the objects by index-id prefix, the old sharding's first during the move", () => {
    expect(claimObjectNames("4096", "AbCdEf")).toEqual(["claims:Ab"]);
    expect(claimObjectNames("64", "AbCdEf")).toEqual(["claims:A"]);
    expect(claimObjectNames("4096+64", "AbCdEf")).toEqual(["claims:Ab", "claims:A"]);
  });
});

describe("the deploy rule for a change of claim sharding (npm run deploy)", () => {
  it("lets a first deployment, or one that keeps its sharding, through", () => {
    expect(rollout("64", null)).toBeNull();
    expect(rollout("64", [at("64")])).toBeNull();
    expect(rollout("4096", [at(undefined)])).toBeNull(); // before 0.4.0 was the 4096 sharding
  });

  it("refuses to drop one sharding for the other directly, whichever way", () => {
    expect(rollout("64", [at("4096")], 86_400)).toMatch(/goes through "4096\+64" first/);
    expect(rollout("64", [at(undefined)], 86_400)).toMatch(/goes through "4096\+64" first/);
    expect(rollout("4096", [at("64")], 86_400)).toMatch(/goes through "4096\+64" first/);
    expect(rollout("64", [at("4096+64"), at("4096")], 86_400)).toMatch(/goes through/);
  });

  it("starts the move only from a version whose objects can consume (0.4.0 on)", () => {
    expect(rollout("4096+64", [at(undefined)])).toMatch(/--var CLAIM_SHARDS:4096 first/);
    expect(rollout("4096+64", [at("4096")])).toBeNull();
    expect(rollout("4096+64", [at("64")])).toBeNull();
  });

  it("ends the move only the longest QR lifetime (an application's 600 s) and a minute after it started", () => {
    expect(rollout("64", [at("4096+64")], 659)).toMatch(/deploy "64" in 1 s/);
    expect(rollout("64", [at("4096+64")], 660)).toBeNull();
    expect(rollout("64", [at("4096+64", 900)], 660)).toMatch(/in 300 s/); // a deployment lifetime above 600 s
    expect(rollout("4096", [at("4096+64")], 660)).toBeNull();
  });

  it("lets a deployment already part-way to the new sharding finish", () => {
    expect(rollout("64", [at("4096+64"), at("64")])).toBeNull();
    expect(rollout("4096", [at("4096"), at("4096+64")])).toBeNull();
  });
});
