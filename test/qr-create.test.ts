import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { KV_PREFIXES } from "../common/kv-keys.js";
import { call, createRegistration, expectErrorShape, mintToken } from "./helpers";

const REG = "/rp/versioned/client/qr/create";
const AUTH = "/rp/api/oob/qr/client/authentication/requests";

async function pendingCount(): Promise<number> {
  return (await env.QR_KV.list({ prefix: KV_PREFIXES.pending })).keys.length;
}

describe("POST /rp/versioned/client/qr/create", () => {
  it("returns a registration payload with a 256-bit pin and, on request, the fallback code inside and beside it", async () => {
    const token = await mintToken("WorkstationApp");
    const before = Date.now();
    const { res, json } = await createRegistration(token, { rpAppId: "WorkstationApp" });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(Object.keys(json)).toEqual(["qrCode", "expirationTime", "qrFallbackActivationCode", "activationCode"]);
    // The code also under the name a public HYPR client reads.
    expect((json as { activationCode?: string }).activationCode).toBe(json.qrFallbackActivationCode);
    expect(json.qrFallbackActivationCode).toMatch(/^[a-z]{6}$/);
    const payload = JSON.parse(json.qrCode);
    expect(Object.keys(payload)).toEqual([
      "version",
      "type",
      "rpAppId",
      "rpUrl",
      "sessionId",
      "pin",
      "expiresAt",
      "activationCode",
    ]);
    expect(payload).toMatchObject({ version: 1, type: "REGISTRATION", rpAppId: "WorkstationApp" });
    expect(payload.pin).toMatch(/^[0-9a-f]{64}$/);
    expect(payload.activationCode).toBe(json.qrFallbackActivationCode);
    expect(payload.expiresAt).toBe(json.expirationTime);
    expect(json.expirationTime).toBeGreaterThanOrEqual(before + 180_000);
    expect(json.expirationTime).toBeLessThanOrEqual(Date.now() + 180_000);
  });

  it("caches nothing and adds no code when the fallback is not requested (cache on delivery)", async () => {
    const token = await mintToken("NoFallbackApp");
    const before = await pendingCount();
    const res = await call("POST", REG, { token, body: { username: "bob" } });
    const json = (await res.json()) as Record<string, unknown>;
    expect(res.status).toBe(200);
    expect(Object.keys(json)).toEqual(["qrCode", "expirationTime"]);
    expect(JSON.parse(json.qrCode as string)).not.toHaveProperty("activationCode");
    expect(await pendingCount()).toBe(before);
  });

  it("defaults rpAppId to the token's app and refuses another app with 403", async () => {
    const token = await mintToken("AppA");
    const own = await createRegistration(token);
    expect(JSON.parse(own.json.qrCode).rpAppId).toBe("AppA");
    const other = await call("POST", REG, { token, body: { rpAppId: "AppB", includeQRFallbackCode: true } });
    await expectErrorShape(other, 403, "FORBIDDEN");
  });

  it("lets an admin token act for any app, naming it", async () => {
    const admin = await mintToken("ops", true);
    const { res, json } = await createRegistration(admin, { rpAppId: "AnyApp" });
    expect(res.status).toBe(200);
    expect(JSON.parse(json.qrCode).rpAppId).toBe("AnyApp");
    await expectErrorShape(await call("POST", REG, { token: admin, body: {} }), 400, "INVALID_REQUEST");
  });

  it("needs a valid bearer token", async () => {
    await expectErrorShape(await call("POST", REG, { body: {} }), 401, "UNAUTHORIZED");
    await expectErrorShape(await call("POST", REG, { body: {}, token: "qrf_notatoken" }), 401, "UNAUTHORIZED");
    const res = await call("POST", REG, { body: {}, headers: { Authorization: "Basic abc" } });
    await expectErrorShape(res, 401, "UNAUTHORIZED");
  });

  it("rejects schema violations with 400 and does not echo the input", async () => {
    const token = await mintToken("AppV");
    const res = await call("POST", REG, { token, body: { includeQRFallbackCode: "yes-secret-value" } });
    const body = await expectErrorShape(res, 400, "INVALID_REQUEST");
    expect(JSON.stringify(body)).not.toContain("yes-secret-value");
  });
});

describe("POST authentication requests", () => {
  it.each([AUTH, "/oob/qr/client/authentication/requests"])(
    "%s answers the vendor's envelope with the code",
    async (path) => {
      const token = await mintToken("HYPRDefaultApplication");
      const res = await call("POST", path, {
        token,
        body: {
          appId: "HYPRDefaultApplication",
          namedUser: "alice",
          machine: "WEB",
          machineId: "m-123",
          sessionNonce: "ab12",
          deviceNonce: "cd34",
          serviceNonce: "ef56",
          serviceHmac: "0a0b",
          actionId: "defaultAuthAction",
          additionalDetails: {},
          includeQRFallbackCode: true,
        },
      });
      expect(res.status).toBe(200);
      const json = (await res.json()) as {
        status: unknown;
        response: { requestId: string; qrCode: string; expirationTime: number };
        activationCode: string;
      };
      expect(Object.keys(json)).toEqual(["status", "response", "activationCode"]);
      expect(json.status).toEqual({ responseCode: 200, responseMessage: "QR authentication request created" });
      expect(json.response.requestId).toMatch(/^[0-9a-f-]{36}$/);
      const payload = JSON.parse(json.response.qrCode);
      expect(payload).toMatchObject({
        type: "AUTHENTICATION",
        rpAppId: "HYPRDefaultApplication",
        requestId: json.response.requestId,
        activationCode: json.activationCode,
        expiresAt: json.response.expirationTime,
      });
      // The username and machine stay out of the payload.
      expect(json.response.qrCode).not.toContain("alice");
      expect(json.response.qrCode).not.toContain("m-123");
    },
  );

  it("omits the code when not requested and validates nonces as hex", async () => {
    const token = await mintToken("AuthApp2");
    const res = await call("POST", AUTH, { token, body: { namedUser: "alice" } });
    const json = (await res.json()) as Record<string, unknown>;
    expect(res.status).toBe(200);
    expect(json).not.toHaveProperty("activationCode");
    const bad = await call("POST", AUTH, { token, body: { namedUser: "alice", sessionNonce: "not hex!" } });
    await expectErrorShape(bad, 400, "INVALID_REQUEST");
    await expectErrorShape(
      await call("POST", AUTH, { token, body: { appId: "Other", namedUser: "a" } }),
      403,
      "FORBIDDEN",
    );
  });
});
