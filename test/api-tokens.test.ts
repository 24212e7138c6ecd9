import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { tokenKey } from "../common/kv-keys.js";
import { sha256Hex } from "../src/lib/encoding";
import { call, createRegistration, expectErrorShape, mintToken, trailRows, waitForTrail } from "./helpers";

const TOKENS = "/cc/api/tokens";
const SEARCH = "/cc/api/versioned/audit/search?startTSUTC=0&endTSUTC=9999999999999";

interface Created {
  id: string;
  token: string;
  rpAppId: string | null;
  scopes: string[];
  label: string;
  createdAt: number;
  expiresAt: number | null;
}

async function createViaApi(admin: string, body: Record<string, unknown>): Promise<Created> {
  const res = await call("POST", TOKENS, { token: admin, body });
  expect(res.status).toBe(201);
  return (await res.json()) as Created;
}

afterEach(() => vi.useRealTimers());

describe("POST/GET/DELETE /cc/api/tokens", () => {
  it("a qr:create token creates but cannot read the trail; an audit:read token reads but cannot create", async () => {
    const admin = await mintToken("ignored", true);
    const workstation = await createViaApi(admin, { rpAppId: "ScopeApp", scopes: ["qr:create"], label: "fleet" });
    expect(workstation).toMatchObject({ rpAppId: "ScopeApp", scopes: ["qr:create"], label: "fleet", expiresAt: null });
    expect(workstation.token).toMatch(/^qrf_[\w-]{43}$/);
    expect(workstation.id).toBe((await sha256Hex(workstation.token)).slice(0, 16));
    expect((await createRegistration(workstation.token)).res.status).toBe(200);
    await expectErrorShape(await call("GET", SEARCH, { token: workstation.token }), 403, "FORBIDDEN");

    const siem = await createViaApi(admin, { rpAppId: "ScopeApp", scopes: ["audit:read"] });
    expect((await call("GET", SEARCH, { token: siem.token })).status).toBe(200);
    const refused = await createRegistration(siem.token);
    expect(refused.res.status).toBe(403);
    // Neither may manage tokens.
    await expectErrorShape(await call("GET", TOKENS, { token: siem.token }), 403, "FORBIDDEN");
  });

  it("without scopes an application token keeps qr:create and audit:read; bad requests are refused", async () => {
    const admin = await mintToken("ignored", true);
    const plain = await createViaApi(admin, { rpAppId: "DefaultApp" });
    expect(plain.scopes).toEqual(["qr:create", "audit:read"]);
    const adminToken = await createViaApi(admin, { scopes: ["admin"], expiresInDays: 30 });
    expect(adminToken).toMatchObject({ rpAppId: null, scopes: ["admin"] });
    expect((adminToken.expiresAt ?? 0) - adminToken.createdAt).toBe(30 * 86_400_000);
    for (const body of [
      { scopes: ["qr:create"] },
      { rpAppId: "X", scopes: ["admin"] },
      { rpAppId: "X", scopes: ["root"] },
      { rpAppId: "X", scopes: [] },
      { rpAppId: "X", expiresInDays: 0 },
      { rpAppId: "X", token: "qrf_chosen" },
    ]) {
      await expectErrorShape(await call("POST", TOKENS, { token: admin, body }), 400, "INVALID_REQUEST");
    }
    await expectErrorShape(
      await call("POST", TOKENS, { token: plain.token, body: { rpAppId: "X" } }),
      403,
      "FORBIDDEN",
    );
  });

  it("lists tokens without the token or its hash, revokes by id (refused at once here), and both are in the trail", async () => {
    const admin = await mintToken("ignored", true);
    const made = await createViaApi(admin, { rpAppId: "RevokeApp", scopes: ["qr:create"], label: "to revoke" });
    const list = (await (await call("GET", TOKENS, { token: admin })).json()) as Record<string, unknown>[];
    const listed = list.find((t) => t.id === made.id);
    expect(listed).toEqual({
      id: made.id,
      rpAppId: "RevokeApp",
      scopes: ["qr:create"],
      label: "to revoke",
      createdAt: made.createdAt,
      expiresAt: null,
    });
    const hash = await sha256Hex(made.token);
    expect(JSON.stringify(list)).not.toContain(made.token);
    expect(JSON.stringify(list)).not.toContain(hash);

    expect((await createRegistration(made.token)).res.status).toBe(200);
    expect((await call("DELETE", `${TOKENS}/${made.id}`, { token: admin })).status).toBe(204);
    await expectErrorShape(
      await call("POST", "/rp/versioned/client/qr/create", { token: made.token, body: {} }),
      401,
      "UNAUTHORIZED",
    );
    expect(await env.QR_KV.get(tokenKey(hash))).toBeNull();
    const after = (await (await call("GET", TOKENS, { token: admin })).json()) as { id: string }[];
    expect(after.map((t) => t.id)).not.toContain(made.id);
    // Revoking again is accepted (and not a second event); an unknown id is 404.
    expect((await call("DELETE", `${TOKENS}/${made.id}`, { token: admin })).status).toBe(204);
    await expectErrorShape(await call("DELETE", `${TOKENS}/0123456789abcdef`, { token: admin }), 404, "NOT_FOUND");
    await expectErrorShape(await call("DELETE", `${TOKENS}/${made.token}`, { token: admin }), 404, "NOT_FOUND");

    const rows = await waitForTrail((r) =>
      r.some((e) => e.eventName === "QR_FALLBACK_TOKEN_REVOKED" && e.rpAppId === "RevokeApp"),
    );
    const events = rows.filter((e) => e.eventName.startsWith("QR_FALLBACK_TOKEN_") && e.rpAppId === "RevokeApp");
    expect(
      events.map((e) => [e.eventName, e.additionalDetails.extras.tokenId, e.additionalDetails.extras.scopes]),
    ).toEqual([
      ["QR_FALLBACK_TOKEN_CREATED", made.id, ["qr:create"]],
      ["QR_FALLBACK_TOKEN_REVOKED", made.id, ["qr:create"]],
    ]);
    for (const e of events) expect(e.additionalDetails.extras.actorTokenId).toMatch(/^[0-9a-f]{16}$/);
    const all = JSON.stringify(await trailRows());
    for (const secret of [made.token, admin, hash]) expect(all).not.toContain(secret);
  });

  it("a revocation made elsewhere is refused here within 9 s, although KV still serves the token", async () => {
    const admin = await mintToken("ignored", true);
    const made = await createViaApi(admin, { rpAppId: "FarApp", scopes: ["qr:create"] });
    const base = Date.now();
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(base + 60_000);
    expect((await createRegistration(made.token)).res.status).toBe(200);
    // Another location revokes: the registry row is marked; this location's KV still has the record.
    await env.CONTROL_DB.prepare("UPDATE api_tokens SET revoked_at = ?1 WHERE id = ?2").bind(base, made.id).run();
    expect(await env.QR_KV.get(tokenKey(await sha256Hex(made.token)))).not.toBeNull();
    vi.setSystemTime(base + 64_000);
    expect((await createRegistration(made.token)).res.status).toBe(200);
    vi.setSystemTime(base + 69_001);
    expect((await createRegistration(made.token)).res.status).toBe(401);
  });

  it("an expired token is refused; a record made before scopes and the registry (0.2) is refused and not listed", async () => {
    const admin = await mintToken("ignored", true);
    const shortLived = await createViaApi(admin, { rpAppId: "ExpiryApp", expiresInDays: 1 });
    expect((await createRegistration(shortLived.token)).res.status).toBe(200);
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(shortLived.expiresAt ?? 0);
    expect((await createRegistration(shortLived.token)).res.status).toBe(401);
    vi.useRealTimers();

    // A record as version 0.2 wrote it: retired in 0.8.
    const legacy = "qrf_legacy-token-made-by-the-old-cli-aaaaaaaaaaa";
    const hash = await sha256Hex(legacy);
    const old = { rpAppId: "LegacyApp", admin: false, label: "old", createdAt: 1 };
    await env.QR_KV.put(tokenKey(hash), JSON.stringify(old), { metadata: old });
    expect((await createRegistration(legacy)).res.status).toBe(401);
    await expectErrorShape(await call("GET", SEARCH, { token: legacy }), 401, "UNAUTHORIZED");
    const list = (await (await call("GET", TOKENS, { token: admin })).json()) as { id: string }[];
    expect(list.some((t) => t.id === hash.slice(0, 16))).toBe(false);
    await expectErrorShape(await call("DELETE", `${TOKENS}/${hash.slice(0, 16)}`, { token: admin }), 404, "NOT_FOUND");
  });

  it("a non-admin record bound to no application is refused, not read as 'every application'", async () => {
    const odd = "qrf_unbound-application-token-aaaaaaaaaaaaaaaaaaa";
    const record = { scopes: ["audit:read", "qr:create"], label: "odd", createdAt: 1 };
    await env.QR_KV.put(tokenKey(await sha256Hex(odd)), JSON.stringify(record), { metadata: record });
    await expectErrorShape(await call("GET", SEARCH, { token: odd }), 401, "UNAUTHORIZED");
    expect((await createRegistration(odd, { rpAppId: "AnyApp" })).res.status).toBe(401);
  });

  it("when the controls cannot be read, tokens are not trusted: 503 CONTROLS_UNAVAILABLE", async () => {
    const token = await mintToken("DownApp");
    // A control database that fails every call (a wrapper of the real binding, fresh to this isolate).
    const failing = new Proxy(env.CONTROL_DB, {
      get: (target, prop) =>
        prop === "batch" || prop === "prepare"
          ? () => {
              throw new Error("D1 unavailable");
            }
          : Reflect.get(target, prop),
    });
    const res = await call("POST", "/rp/versioned/client/qr/create", {
      token,
      body: {},
      env: { ...env, CONTROL_DB: failing } as Env,
    });
    await expectErrorShape(res, 503, "CONTROLS_UNAVAILABLE");
    expect(res.headers.get("retry-after")).toBe("5");
  });
});
