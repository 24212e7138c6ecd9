import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { buildApp } from "../src/app";
import { BASE, call, expectErrorShape, mintToken } from "./helpers";

describe("errors have the spec's shape everywhere", () => {
  it("404 for an unknown route, 405 for a known path with the wrong method", async () => {
    await expectErrorShape(await call("GET", "/nope"), 404, "NOT_FOUND");
    await expectErrorShape(await call("GET", "/rp/versioned/device/pendingqr"), 405, "METHOD_NOT_ALLOWED");
    await expectErrorShape(await call("DELETE", "/rp/versioned/client/qr/create"), 405, "METHOD_NOT_ALLOWED");
    await expectErrorShape(
      await call("POST", "/cc/api/versioned/audit/search", { body: {} }),
      405,
      "METHOD_NOT_ALLOWED",
    );
  });

  it("413 for a body over 16 KiB, before authentication or parsing", async () => {
    const big = JSON.stringify({ activationCode: "a".repeat(17 * 1024) });
    await expectErrorShape(
      await call("POST", "/rp/versioned/device/pendingqr", { rawBody: big }),
      413,
      "PAYLOAD_TOO_LARGE",
    );
    const token = await mintToken("BigApp");
    const res = await call("POST", "/rp/versioned/client/qr/create", { token, rawBody: big });
    await expectErrorShape(res, 413, "PAYLOAD_TOO_LARGE");
  });

  it("415 for a POST body that is not declared JSON; odd JSON types are accepted", async () => {
    const res = await call("POST", "/rp/versioned/device/pendingqr", {
      rawBody: '{"activationCode":"abcdef"}',
      headers: { "Content-Type": "text/plain" },
    });
    await expectErrorShape(res, 415, "UNSUPPORTED_MEDIA_TYPE");
    const odd = await call("POST", "/rp/versioned/device/pendingqr", {
      rawBody: '{"activationCode":"abcdef"}',
      headers: { "Content-Type": "application/application-json; charset=utf-8" },
    });
    await expectErrorShape(odd, 400, "QR_FALLBACK_NOT_FOUND");
  });

  it("every response carries a request id, secure headers and no-store", async () => {
    const res = await call("GET", "/nope");
    const body = await expectErrorShape(res, 404, "NOT_FOUND");
    expect(res.headers.get("x-request-id")).toBe(body.error.requestId);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("strict-transport-security")).toContain("max-age");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("cache-control")).toBe("no-store");
    // Document-only headers are for the HTML pages, not for JSON answers.
    expect(res.headers.get("x-xss-protection")).toBeNull();
  });

  it("a misconfigured deployment refuses to serve with 503, naming no secret", async () => {
    const app = buildApp();
    const badEnv = { ...env, CODE_LENGTH: "3", SERVER_SECRET: "x".repeat(40) };
    const res = await app.fetch(new Request(`${BASE}/rp/versioned/device/pendingqr`, { method: "POST" }), badEnv);
    const body = await expectErrorShape(res, 503, "SERVICE_MISCONFIGURED");
    expect(JSON.stringify(body)).not.toContain("x".repeat(40));
  });

  it("an unexpected failure is a 500 with the shape and no internals", async () => {
    // Wrap the real KV so every read throws: the token lookup fails inside the Worker.
    const brokenKv = new Proxy(env.QR_KV, {
      get(target, prop) {
        if (prop === "get") return () => Promise.reject(new Error("kv exploded: internal detail"));
        return Reflect.get(target, prop).bind(target);
      },
    });
    const res = await buildApp().fetch(
      new Request(`${BASE}/rp/versioned/client/qr/create`, {
        method: "POST",
        headers: { Authorization: "Bearer qrf_x", "Content-Type": "application/json" },
        body: "{}",
      }),
      { ...env, QR_KV: brokenKv },
    );
    const body = await expectErrorShape(res, 500, "INTERNAL");
    expect(JSON.stringify(body)).not.toContain("exploded");
  });

  it("CORS is closed by default", async () => {
    const res = await exports.default.fetch(
      new Request(`${BASE}/rp/versioned/device/pendingqr`, {
        method: "OPTIONS",
        headers: { Origin: "https://evil.example", "Access-Control-Request-Method": "POST" },
      }),
    );
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    const plain = await call("POST", "/rp/versioned/device/pendingqr", {
      body: { activationCode: "abcdef" },
      headers: { Origin: "https://evil.example" },
    });
    expect(plain.headers.get("access-control-allow-origin")).toBeNull();
    expect(plain.headers.get("vary")).toBeNull(); // nothing varies by origin when CORS is closed
  });

  it("CORS opens to the origins the deployment lists, and to those only", async () => {
    const corsEnv = { ...env, CORS_ALLOWED_ORIGINS: "https://console.example, https://siem.example" } as Env;
    const preflight = await call("OPTIONS", "/cc/api/versioned/audit/search", {
      env: corsEnv,
      headers: { Origin: "https://siem.example", "Access-Control-Request-Method": "GET" },
    });
    expect(preflight.headers.get("access-control-allow-origin")).toBe("https://siem.example");
    expect(preflight.headers.get("access-control-allow-headers")).toMatch(/authorization/i);
    const listed = await call("POST", "/rp/versioned/device/pendingqr", {
      env: corsEnv,
      body: { activationCode: "abcdef" },
      headers: { Origin: "https://console.example" },
    });
    expect(listed.headers.get("access-control-allow-origin")).toBe("https://console.example");
    expect(listed.headers.get("vary")).toMatch(/origin/i);
    const other = await call("POST", "/rp/versioned/device/pendingqr", {
      env: corsEnv,
      body: { activationCode: "abcdef" },
      headers: { Origin: "https://evil.example" },
    });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });
});
