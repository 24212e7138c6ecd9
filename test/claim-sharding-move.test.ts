import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ClaimSharding } from "../common/claim-shards.js";
import { configOf } from "../src/config";
import { generateActivationCode } from "../src/fallback/activation-code";
import { PendingCodes, type ReservedCode } from "../src/fallback/pending-codes";
import { EdgeKv } from "./edge-kv";

// A deployment moving its claims from the 4096 sharding to the 64 one (CLAIM_SHARDS): Workers of
// two shardings side by side, each at its own Cloudflare location over the edge double of KV (stale
// values and misses for 60 s), all over the real CodeClaims objects. The move's Workers ("4096+64")
// run beside the old ones first, then beside the new ones; the 4096 and 64 ones never together.
const edge = new EdgeKv(env.QR_KV);
const format = { length: 6, alphabet: "abcdefghijklmnopqrstuvwxyz" };
const background: Promise<unknown>[] = [];
const waitUntil = (p: Promise<unknown>) => background.push(p);
const workerOf = (sharding: ClaimSharding) =>
  PendingCodes.open(edge.location(), env.CODE_CLAIMS, sharding, configOf(env).serverSecret);
const freshCode = () => generateActivationCode(format.length, format.alphabet);

async function issue(worker: PendingCodes, draws: string[], payload: string): Promise<string | null> {
  const reserved = await worker.reserve(format, Date.now() + 120_000, () => draws.shift() ?? freshCode());
  if (!reserved) return null;
  await worker.write(reserved as ReservedCode, payload, "MoveApp", 180);
  return reserved.activationCode;
}

const SIDE_BY_SIDE: [ClaimSharding, ClaimSharding][] = [
  ["4096", "4096+64"],
  ["4096+64", "64"],
];

describe("moving the claims to another sharding, through 4096+64 (edge double, real objects)", () => {
  for (const pair of SIDE_BY_SIDE) {
    it(`${pair.join(" beside ")}: neither hands out a code the other holds`, async () => {
      for (const [holder, drawer] of [pair, [pair[1], pair[0]]]) {
        const held = await issue(await workerOf(holder), [freshCode()], `user of ${holder}`);
        const other = freshCode();
        const drawn = await issue(await workerOf(drawer), [held as string, other], `user of ${drawer}`);
        expect(drawn).toBe(other);
      }
    });

    it(`${pair.join(" beside ")}: a code is granted once, whoever issued it and whoever looks it up first`, async () => {
      for (const issuer of pair) {
        for (const first of pair) {
          const payload = `issued by ${issuer}, fetched at ${first}`;
          const code = (await issue(await workerOf(issuer), [freshCode()], payload)) as string;
          const granted = await (await workerOf(first)).redeem(code, waitUntil);
          expect(granted).toMatchObject({ outcome: "retrieved", qrCode: payload });
          // Replays at fresh locations, which still read the payload from KV: the claims refuse them.
          for (const replay of pair) {
            expect((await (await workerOf(replay)).redeem(code, waitUntil)).outcome).toBe("unknown");
          }
        }
      }
    });

    it(`${pair.join(" beside ")}: concurrent lookups of one code get one grant`, async () => {
      for (const issuer of pair) {
        const code = (await issue(await workerOf(issuer), [freshCode()], "raced")) as string;
        const workers = await Promise.all([...pair, ...pair].map(workerOf));
        const outcomes = await Promise.all(workers.map((w) => w.redeem(code, waitUntil)));
        expect(outcomes.filter((o) => o.outcome === "retrieved")).toHaveLength(1);
      }
    });
  }

  it("why the move exists: a 64 Worker beside a 4096 one would hand out a code the other holds", async () => {
    const held = (await issue(await workerOf("4096"), [freshCode()], "user A")) as string;
    // The 64 objects have never seen the code: the claim is won, and user B's payload would replace A's.
    const reserved = await (await workerOf("64")).reserve(format, Date.now() + 120_000, () => held);
    expect(reserved?.activationCode).toBe(held);
  });
});
