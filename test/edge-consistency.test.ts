import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { pendingKey } from "../common/kv-keys.js";
import { configOf } from "../src/config";
import { indexIdOf, pendingKeys } from "../src/fallback/payload-crypto";
import { PendingCodes, type ReservedCode } from "../src/fallback/pending-codes";
import { budgetSettings } from "../src/security/guess-budget";
import { EdgeKv } from "./edge-kv";
import { call, codesOfRegion, lookup, mintToken, placementOf } from "./helpers";

// Two Cloudflare locations over one KV namespace that, like the real one, serves stale values and
// stale misses for up to 60 s. The claims (CodeClaims) are the real Durable Objects.
const edge = new EdgeKv(env.QR_KV);
const alphabet = "abcdefghijklmnopqrstuvwxyz";
const format = { normal: { length: 6, alphabet }, long: { length: 10, alphabet } };

describe("single use and unique codes hold while KV serves stale reads (edge double)", () => {
  it("a code is redeemed once, although the location that created it still serves its payload", async () => {
    const atA = { ...env, QR_KV: edge.location() } as Env;
    const atB = { ...env, QR_KV: edge.location() } as Env;
    const token = await mintToken("EdgeApp");
    const created = await call("POST", "/rp/versioned/client/qr/create", {
      token,
      body: { includeQRFallbackCode: true },
      env: atA,
    });
    const { qrCode, qrFallbackActivationCode: code } = (await created.json()) as {
      qrCode: string;
      qrFallbackActivationCode: string;
    };

    const atLocationB = await lookup(code, "203.0.113.10", { env: atB });
    expect(await atLocationB.text()).toBe(JSON.stringify({ qrCode }));

    // The double really is stale: location A still serves the payload location B deleted...
    const keys = await pendingKeys(configOf(env).serverSecret);
    const key = pendingKey(await indexIdOf(keys, code));
    expect(await env.QR_KV.get(key)).toBeNull();
    expect(await atA.QR_KV.get(key, "arrayBuffer")).not.toBeNull();
    // ...and yet the code is not redeemed a second time there.
    const atLocationA = await lookup(code, "203.0.113.11", { env: atA });
    expect(atLocationA.status).toBe(400);
  });

  it("two locations never hand out the same live code, although one still caches a miss for it", async () => {
    const secret = configOf(env).serverSecret;
    const kvA = edge.location();
    const kvB = edge.location();
    const storeA = await PendingCodes.open(kvA, env.CODE_CLAIMS, secret);
    const storeB = await PendingCodes.open(kvB, env.CODE_CLAIMS, secret);
    const background: Promise<unknown>[] = [];
    const waitUntil = (p: Promise<unknown>) => background.push(p);

    // Location B looked "kkkkkk" up a moment ago and caches the miss.
    expect((await storeB.redeem("kkkkkk", "normal", budgetSettings(configOf(env)), waitUntil)).outcome).toBe("unknown");
    const expiresAt = Date.now() + 120_000;
    const first = (await storeA.reserve(
      format,
      expiresAt,
      budgetSettings(configOf(env)),
      await placementOf("kkkkkk"),
      () => "kkkkkk",
    )) as ReservedCode;
    await storeA.write(first, "payload of user A", "EdgeApp", 180);

    // B still sees no entry for "kkkkkk" (a read-then-write check would take it)...
    const keys = await pendingKeys(secret);
    expect(await kvB.get(pendingKey(await indexIdOf(keys, "kkkkkk")))).toBeNull();
    // ...but the claim refuses it, and B draws again.
    const at = await placementOf("kkkkkk");
    const [next] = await codesOfRegion(at.region, 1, 400_000);
    const draws = ["kkkkkk", next];
    const second = (await storeB.reserve(
      format,
      expiresAt,
      budgetSettings(configOf(env)),
      at,
      () => draws.shift() as string,
    )) as ReservedCode;
    expect(second.activationCode).toBe(next);
    await storeB.write(second, "payload of user B", "EdgeApp", 180);

    // User A's phone, at any location, receives user A's payload.
    const res = await lookup("kkkkkk", "203.0.113.12");
    expect(((await res.json()) as { qrCode: string }).qrCode).toBe("payload of user A");
  });

  it("a lookup never burns a code it cannot serve: a stale miss at one location leaves it for the next try", async () => {
    const secret = configOf(env).serverSecret;
    const kvA = edge.location();
    const kvB = edge.location();
    const storeA = await PendingCodes.open(kvA, env.CODE_CLAIMS, secret);
    const storeB = await PendingCodes.open(kvB, env.CODE_CLAIMS, secret);
    const settings = budgetSettings(configOf(env));
    const background: Promise<unknown>[] = [];
    const waitUntil = (p: Promise<unknown>) => background.push(p);

    // Location B caches a miss for "pppppp" (someone looked it up there before it existed)...
    expect((await storeB.redeem("pppppp", "normal", settings, waitUntil)).outcome).toBe("unknown");
    const at = await placementOf("pppppp");
    const first = (await storeA.reserve(format, Date.now() + 120_000, settings, at, () => "pppppp")) as ReservedCode;
    await storeA.write(first, "payload of user P", "EdgeApp", 180);
    // ...so the phone's lookup there finds nothing: answered as a miss, and the code is not used up.
    expect((await storeB.redeem("pppppp", "normal", settings, waitUntil)).outcome).toBe("unknown");
    // Its next try, at a location whose KV has the payload, is served.
    const served = await storeA.redeem("pppppp", "normal", settings, waitUntil);
    expect(served).toMatchObject({ outcome: "retrieved", qrCode: "payload of user P" });
    await Promise.all(background);
  });
});
