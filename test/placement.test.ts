// Codes are claimed in the region that issued them (common/regions.js): a create draws codes until one's
// index falls in its region's shards, and a lookup from anywhere goes to that shard. Single use and
// collision-freedom stay global; the codes of 0.7 (legacy shards) are honoured through the move.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { REGIONS, type Region, regionOfIndex } from "../common/regions.js";
import { configOf } from "../src/config";
import { isWellFormedCode } from "../src/fallback/activation-code";
import { claimObject } from "../src/fallback/code-claims";
import { codeFormats } from "../src/fallback/create-qr";
import { indexIdOf, pendingKeys, sealPayload } from "../src/fallback/payload-crypto";
import { PendingCodes, type ReservedCode } from "../src/fallback/pending-codes";
import worker from "../src/index";
import { budgetSettings } from "../src/security/guess-budget";
import { codesOfRegion, deployment, loggedDeployment, lookup, mintToken, placementOf } from "./helpers";

/** Where Cloudflare would say a request entered, per region. */
const CF: Record<Region, Partial<IncomingRequestCfProperties>> = {
  wnam: { continent: "NA", country: "US", longitude: "-122.4" },
  enam: { continent: "NA", country: "US", longitude: "-77.0" },
  sam: { continent: "SA", country: "BR", longitude: "-46.6" },
  weur: { continent: "EU", country: "FR", longitude: "2.3" },
  eeur: { continent: "EU", country: "PL", longitude: "21.0" },
  apac: { continent: "AS", country: "SG", longitude: "103.8" },
  oc: { continent: "OC", country: "AU", longitude: "151.2" },
  afr: { continent: "AF", country: "ZA", longitude: "28.0" },
  me: { continent: "AS", country: "AE", longitude: "55.3" },
};

/** A request as it reaches the Worker at a Cloudflare location of `region` (undefined: no location, as locally). */
async function at(
  region: Region | undefined,
  path: string,
  body: unknown,
  token?: string,
  on: Env = env,
  ip = "198.51.100.40",
) {
  const request = new Request(`https://qr.test${path}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "cf-connecting-ip": ip,
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
    ...(region ? { cf: CF[region] } : {}),
  });
  const ctx = createExecutionContext();
  const res = await worker.fetch(request, on, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

async function createAt(region: Region | undefined, token: string, on: Env = env): Promise<string> {
  const res = await at(region, "/rp/versioned/client/qr/create", { includeQRFallbackCode: true }, token, on);
  expect(res.status).toBe(200);
  return ((await res.json()) as { qrFallbackActivationCode: string }).qrFallbackActivationCode;
}

afterEach(() => {
  vi.useRealTimers();
});

describe("codes are claimed where they were issued", () => {
  it("each region issues codes of its own shards only, none twice", async () => {
    const token = await mintToken("PlacementApp");
    const issued = new Set<string>();
    for (const region of REGIONS) {
      for (let i = 0; i < 4; i++) {
        const code = await createAt(region, token);
        expect((await placementOf(code)).region).toBe(region);
        issued.add(code);
      }
    }
    expect(issued.size).toBe(REGIONS.length * 4);
  });

  it("a code issued in one region is redeemed once, though looked up from two regions at once", async () => {
    const token = await mintToken("PlacementApp");
    for (let i = 0; i < 5; i++) {
      const code = await createAt("oc", token);
      const answers = await Promise.all(
        (["weur", "oc"] as const).map((r) => at(r, "/rp/versioned/device/pendingqr", { activationCode: code })),
      );
      expect(answers.map((r) => r.status).sort()).toEqual([200, 400]);
    }
  });

  it("a code drawn for a region is claimed under its own index id, in that region", async () => {
    const keys = await pendingKeys(configOf(env).serverSecret);
    const store = await PendingCodes.open(env.QR_KV, env.CODE_CLAIMS, configOf(env).serverSecret);
    const config = configOf(env);
    const settings = budgetSettings(config);
    for (const region of REGIONS) {
      const reserved = (await store.reserve(codeFormats(config), Date.now() + 60_000, settings, {
        region,
        legacyUntil: 0,
      })) as ReservedCode;
      expect(isWellFormedCode(reserved.activationCode, config.codeLength, config.codeAlphabet)).toBe(true);
      expect(reserved.indexId).toBe(await indexIdOf(keys, reserved.activationCode));
      expect(regionOfIndex(reserved.indexId)).toBe(region);
    }
  });

  it("with no location, codes are claimed in the configured default region", async () => {
    const token = await mintToken("PlacementApp");
    const code = await createAt(undefined, token);
    expect((await placementOf(code)).region).toBe(configOf(env).claims.defaultRegion);
    const apac = deployment("default-region", { CLAIM_DEFAULT_REGION: "apac" });
    const there = await createAt(undefined, token, apac);
    expect((await placementOf(there)).region).toBe("apac");
    expect((await lookup(there, "203.0.113.77", { env: apac })).status).toBe(200);
  });
});

describe("attack mode's refusals tell nothing of a code's region", () => {
  it("a lookup refused in attack mode asks an object of the caller's region, not the code's shard", async () => {
    const { deployed: on, asked, calls } = loggedDeployment("region-oracle", { GUESS_BUDGET_PER_MINUTE: "3" });
    const guesses = await codesOfRegion("apac", 40, 700_000);
    let refused = false;
    for (const [i, code] of guesses.slice(0, 30).entries()) {
      const res = await at(
        "weur",
        "/rp/versioned/device/pendingqr",
        { activationCode: code },
        undefined,
        on,
        `10.90.${i}.1`,
      );
      if (res.status === 503) {
        refused = true;
        break;
      }
    }
    expect(refused).toBe(true); // attack mode is on, and this isolate has seen it
    const from = calls();
    for (const [i, code] of guesses.slice(30).entries()) {
      const res = await at(
        "weur",
        "/rp/versioned/device/pendingqr",
        { activationCode: code },
        undefined,
        on,
        `10.91.${i}.1`,
      );
      expect(res.status).toBe(503);
    }
    expect(asked(from).length).toBeGreaterThan(0);
    expect(asked(from).filter((name) => !name.startsWith("claims:weur:"))).toEqual([]);
  }, 120_000);
});

describe("the move from 0.7's shards (CLAIM_LEGACY_UNTIL)", () => {
  const alphabet = "abcdefghijklmnopqrstuvwxyz";
  const format = { normal: { length: 6, alphabet }, long: { length: 10, alphabet } };
  const settings = () => budgetSettings(configOf(env));

  it("a code a 0.7 Worker issued is redeemed once, at its legacy shard", async () => {
    const keys = await pendingKeys(configOf(env).serverSecret);
    const [code] = await codesOfRegion("apac", 1, 500_000);
    const indexId = await indexIdOf(keys, code);
    const expiresAt = Date.now() + 120_000;
    // What 0.7 did: a claim at `claims:<c>`, and an entry without `claims`.
    expect(await claimObject(env.CODE_CLAIMS, indexId, true).reserve(indexId, expiresAt)).toBe(true);
    const entry = { qrCode: "payload of 0.7", expiresAt, fallbackId: crypto.randomUUID(), rpAppId: "OldApp" };
    const sealed = await sealPayload(keys, code, indexId, JSON.stringify(entry));
    await env.QR_KV.put(`pending:v1:${indexId}`, sealed, { expirationTtl: 180 });
    const first = await lookup(code, "203.0.113.78");
    expect(first.status).toBe(200);
    expect(((await first.json()) as { qrCode: string }).qrCode).toBe("payload of 0.7");
    // The KV copy may still be served elsewhere; the legacy claim is redeemed, so the code is not.
    await env.QR_KV.put(`pending:v1:${indexId}`, sealed, { expirationTtl: 180 });
    expect((await lookup(code, "203.0.113.79")).status).toBe(400);
  });

  it("until CLAIM_LEGACY_UNTIL, a code live at a legacy shard is not issued again; after it, legacy shards are not asked", async () => {
    const keys = await pendingKeys(configOf(env).serverSecret);
    const [held, next] = await codesOfRegion("eeur", 2, 600_000);
    const heldIndex = await indexIdOf(keys, held);
    expect(await claimObject(env.CODE_CLAIMS, heldIndex, true).reserve(heldIndex, Date.now() + 120_000)).toBe(true);
    const store = await PendingCodes.open(env.QR_KV, env.CODE_CLAIMS, configOf(env).serverSecret);
    const moving = { region: "eeur" as const, legacyUntil: Date.now() + 60_000 };
    const draws = [held, next];
    const reserved = (await store.reserve(
      format,
      Date.now() + 60_000,
      settings(),
      moving,
      () => draws.shift() as string,
    )) as ReservedCode;
    expect(reserved.activationCode).toBe(next);
    // A 0.7 Worker still serving finds the code's legacy claim used: it cannot serve it beside this version.
    await store.write(reserved, "payload of 0.8", "MoveApp", 180);
    const nextIndex = await indexIdOf(keys, next);
    const at07 = await claimObject(env.CODE_CLAIMS, nextIndex, true).lookup(settings(), "normal", nextIndex, "live");
    expect(at07.outcome).not.toBe("retrieved");
    expect((await lookup(next, "203.0.113.80")).status).toBe(200);
    // Past the window, only the regional shards decide: the legacy claim is no longer consulted.
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(moving.legacyUntil + 1);
    const after = (await store.reserve(format, Date.now() + 60_000, settings(), moving, () => held)) as ReservedCode;
    expect(after.activationCode).toBe(held);
  });
});
