import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { KV_PREFIXES } from "../common/kv-keys.js";
import { putSettingsStatement } from "../src/controls/control-store";
import { call, createRegistration, expectErrorShape, lookup, mintToken, waitForTrail } from "./helpers";

const APP = "ControlsApp";
const SETTINGS = `/cc/api/application/${APP}/qrfallback`;

async function pendingKeys() {
  return (await env.QR_KV.list({ prefix: KV_PREFIXES.pending })).keys;
}

afterEach(() => vi.useRealTimers());

function expectDisabled({ res, json }: { res: Response; json: unknown }) {
  expect(res.status).toBe(403);
  expect(json).toMatchObject({ error: { code: "QR_FALLBACK_DISABLED", message: expect.any(String) } });
}

describe("GET/PUT /cc/api/application/{appId}/qrfallback", () => {
  it("answers the deployment's defaults for an application nobody configured, to admin tokens only", async () => {
    const admin = await mintToken("ignored", true);
    const res = await call("GET", SETTINGS, { token: admin });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      appId: APP,
      enabled: true,
      qrTtlSeconds: 180,
      rpUrl: "https://qr.test",
      stored: { enabled: null, qrTtlSeconds: null, rpUrl: null },
      updatedAt: null,
      updatedBy: null,
    });
    const appToken = await mintToken(APP);
    await expectErrorShape(await call("GET", SETTINGS, { token: appToken }), 403, "FORBIDDEN");
    await expectErrorShape(
      await call("PUT", SETTINGS, { token: appToken, body: { enabled: false } }),
      403,
      "FORBIDDEN",
    );
    await expectErrorShape(await call("PUT", SETTINGS, { body: { enabled: false } }), 401, "UNAUTHORIZED");
  });

  it("refuses bad values with the spec's error shape and changes nothing", async () => {
    const admin = await mintToken("ignored", true);
    for (const body of [
      { qrTtlSeconds: 30 },
      { qrTtlSeconds: 601 },
      { rpUrl: "http://phish.example.com" },
      { rpUrl: "https://user:pw@qr.example.com" },
      { rpUrl: "https://evil.example.com\\@good.example.com" },
      { rpUrl: "https://evil.example.com@good.example.com" },
      { rpUrl: "https://qr.example.com/%0d%0aSet-Cookie:x" },
      { rpUrl: "https://qr.example.com/\u0000" },
      { rpUrl: "https://qr.example.com\\path" },
      { enabled: "no" },
      { colour: "blue" },
    ]) {
      await expectErrorShape(await call("PUT", SETTINGS, { token: admin, body }), 400, "INVALID_REQUEST");
    }
    for (const appId of ["bad%20id", "%3Cscript%3E", "a%00b"]) {
      await expectErrorShape(
        await call("PUT", `/cc/api/application/${appId}/qrfallback`, { token: admin, body: {} }),
        400,
        "INVALID_REQUEST",
      );
    }
    // The same rule for every endpoint that names an application: an admin's create as well.
    await expectErrorShape(
      await call("POST", "/rp/versioned/client/qr/create", { token: admin, body: { rpAppId: "<b>App</b>" } }),
      400,
      "INVALID_REQUEST",
    );
    expect(((await (await call("GET", SETTINGS, { token: admin })).json()) as { updatedAt: unknown }).updatedAt).toBe(
      null,
    );
  });

  it("disabled: fallback codes refused at once and nothing cached; creates without one and earlier codes still work; re-enabled with 120 s, codes live 120 s; both changes in the app's trail", async () => {
    const admin = await mintToken("ignored", true);
    const workstation = await mintToken(APP, false, ["qr:create"]);
    const earlier = await createRegistration(workstation);
    expect(earlier.res.status).toBe(200);

    const off = await call("PUT", SETTINGS, { token: admin, body: { enabled: false } });
    expect(off.status).toBe(200);
    expect(await off.json()).toMatchObject({ enabled: false, stored: { enabled: false } });

    const before = (await pendingKeys()).length;
    expectDisabled(await createRegistration(workstation));
    const refusedAuth = await call("POST", "/rp/api/oob/qr/client/authentication/requests", {
      token: workstation,
      body: { namedUser: "alice", includeQRFallbackCode: true },
    });
    await expectErrorShape(refusedAuth, 403, "QR_FALLBACK_DISABLED");
    expect((await pendingKeys()).length).toBe(before);
    const plain = await createRegistration(workstation, { includeQRFallbackCode: false });
    expect(plain.res.status).toBe(200);
    expect(plain.json.qrFallbackActivationCode).toBeUndefined();
    // A code issued before the switch still resolves until it expires.
    const served = await lookup(earlier.json.qrFallbackActivationCode, "203.0.113.40");
    expect(served.status).toBe(200);

    const on = await call("PUT", SETTINGS, {
      token: admin,
      body: { enabled: true, qrTtlSeconds: 120, rpUrl: "HTTPS://Login.Example.com/" },
    });
    expect(await on.json()).toMatchObject({ enabled: true, qrTtlSeconds: 120, rpUrl: "https://login.example.com" });
    const t0 = Date.now();
    const fresh = await createRegistration(workstation);
    expect(fresh.res.status).toBe(200);
    expect(fresh.json.expirationTime - t0).toBeGreaterThanOrEqual(120_000);
    expect(fresh.json.expirationTime - Date.now()).toBeLessThanOrEqual(120_000);
    const payload = JSON.parse(fresh.json.qrCode);
    expect(payload).toMatchObject({ rpUrl: "https://login.example.com", expiresAt: fresh.json.expirationTime });
    // The cached payload lives as long as the QR: KV's expiration is 120 s out, not the default 180.
    const newest = (await pendingKeys()).map((k) => k.expiration ?? 0).sort((a, b) => b - a)[0];
    expect(newest * 1000 - t0).toBeGreaterThan(115_000);
    expect(newest * 1000 - t0).toBeLessThan(125_000);

    const adminId = (
      (await call("GET", "/cc/api/tokens", { token: admin }).then((r) => r.json())) as {
        id: string;
        scopes: string[];
      }[]
    )
      .filter((t) => t.scopes.includes("admin"))
      .map((t) => t.id);
    const rows = await waitForTrail(
      (r) => r.filter((e) => e.eventName === "QR_FALLBACK_SETTINGS_CHANGED" && e.rpAppId === APP).length === 2,
    );
    const changes = rows.filter((e) => e.eventName === "QR_FALLBACK_SETTINGS_CHANGED" && e.rpAppId === APP);
    expect(changes.map((e) => e.additionalDetails.extras)).toEqual([
      {
        actorTokenId: expect.any(String),
        settingsBefore: { enabled: null, qrTtlSeconds: null, rpUrl: null },
        settingsAfter: { enabled: false, qrTtlSeconds: null, rpUrl: null },
      },
      {
        actorTokenId: expect.any(String),
        settingsBefore: { enabled: false, qrTtlSeconds: null, rpUrl: null },
        settingsAfter: { enabled: true, qrTtlSeconds: 120, rpUrl: "https://login.example.com" },
      },
    ]);
    for (const e of changes) {
      expect(adminId).toContain(e.additionalDetails.extras.actorTokenId);
      expect(e.eventTags).toEqual(["QR_FALLBACK", "SECURITY"]);
    }
    // No token, in any form, in the trail.
    expect(JSON.stringify(rows)).not.toContain(admin);
    expect(JSON.stringify(rows)).not.toContain(workstation);
  });

  it("a change made elsewhere (another location's isolate) holds here within 9 s, without waiting for KV", async () => {
    const workstation = await mintToken("EdgeApp", false, ["qr:create"]);
    const base = Date.now();
    vi.useFakeTimers({ toFake: ["Date"] });
    // Far enough on that this isolate must read the controls afresh: its copy starts now.
    vi.setSystemTime(base + 60_000);
    expect((await createRegistration(workstation)).res.status).toBe(200);
    // Another location turns the application off: straight into the control database.
    await putSettingsStatement(env.CONTROL_DB, {
      appId: "EdgeApp",
      enabled: false,
      qrTtlSeconds: null,
      rpUrl: null,
      updatedAt: base,
      updatedBy: "elsewhere",
    }).run();
    // Within the refresh period this isolate still uses its copy (this is the bound, not instant)...
    vi.setSystemTime(base + 64_000);
    expect((await createRegistration(workstation)).res.status).toBe(200);
    // ...and from 9 s on it cannot: the copy is too old to use, so the request reads the change.
    vi.setSystemTime(base + 69_001);
    expectDisabled(await createRegistration(workstation));
  });
});
