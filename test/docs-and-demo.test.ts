import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, expectErrorShape, lookup, mintToken, waitForTrail } from "./helpers";

const demoEnv = { ...env, DEMO_ENABLED: "true", RP_URL: "http://localhost:8787" } as Env;

describe("GET /openapi.json", () => {
  it("is an OpenAPI 3.1 document of every endpoint, from the validating schemas", async () => {
    const res = await call("GET", "/openapi.json");
    expect(res.status).toBe(200);
    const doc = (await res.json()) as {
      openapi: string;
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
      components: { schemas: Record<string, { properties?: Record<string, unknown>; required?: string[] }> };
    };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths).sort()).toEqual(
      [
        "/cc/api/application",
        "/cc/api/application/{appId}/qrfallback",
        "/cc/api/qrfallback/status",
        "/cc/api/qrfallback/stats",
        "/cc/api/tokens",
        "/cc/api/tokens/{id}",
        "/cc/api/eventhooks",
        "/cc/api/eventhooks/{id}",
        "/cc/api/versioned/audit/search",
        "/oob/qr/client/authentication/requests",
        "/rp/api/oob/qr/client/authentication/requests",
        "/rp/device/pendingqr",
        "/rp/versioned/client/qr/create",
        "/rp/versioned/device/pendingqr",
      ].sort(),
    );
    expect(Object.keys(doc.paths["/rp/versioned/device/pendingqr"].post.responses).sort()).toEqual(
      ["200", "400", "413", "415", "429", "500", "503"].sort(),
    );
    const reg = doc.components.schemas.RegistrationRequest;
    expect(Object.keys(reg.properties ?? {})).toEqual([
      "rpAppId",
      "username",
      "includeQRFallbackCode",
      "includeQRImage",
    ]);
    expect(doc.components.schemas.AuthenticationRequest.required).toContain("namedUser");
    expect(doc.components.schemas.AuditSearchPage.properties).toHaveProperty("metadata");
    // Every error code a create can answer is documented (it once drifted: CODE_SPACE_EXHAUSTED).
    const createErrors = JSON.stringify(doc.paths["/rp/versioned/client/qr/create"].post.responses);
    for (const code of ["CODE_SPACE_EXHAUSTED", "QR_FALLBACK_DISABLED", "CONTROLS_UNAVAILABLE", "RATE_LIMITED"]) {
      expect(createErrors).toContain(code);
    }
  });
});

describe("GET /", () => {
  it("points a newcomer at the reference, and at the demo only when it is on", async () => {
    expect(await (await call("GET", "/")).json()).toEqual({
      service: "qr-fallback",
      reference: "/docs/",
      openapi: "/openapi.json",
      console: "/console/",
    });
    expect(await (await call("GET", "/", { env: demoEnv })).json()).toHaveProperty("demo", "/demo/");
  });
});

describe("QR images", () => {
  it("returns an SVG of the exact qrCode when asked, and none otherwise", async () => {
    const token = await mintToken("ImageApp");
    const res = await call("POST", "/rp/versioned/client/qr/create", {
      token,
      body: { includeQRImage: true, includeQRFallbackCode: true },
    });
    const json = (await res.json()) as { qrImageSvg: string; qrCode: string };
    expect(json.qrImageSvg).toMatch(/^<svg[^>]*viewBox="0 0 (\d+) \1"/);
    expect(json.qrImageSvg).toContain("</svg>");
    const auth = await call("POST", "/oob/qr/client/authentication/requests", {
      token,
      body: { namedUser: "a", includeQRImage: true },
    });
    expect(((await auth.json()) as { response: { qrImageSvg: string } }).response.qrImageSvg).toMatch(/^<svg/);
    const plain = await call("POST", "/rp/versioned/client/qr/create", { token, body: {} });
    expect(await plain.json()).not.toHaveProperty("qrImageSvg");
  });
});

describe("/demo", () => {
  it("is off unless DEMO_ENABLED is true", async () => {
    await expectErrorShape(await call("POST", "/demo/api/qr", { body: { kind: "registration" } }), 404, "NOT_FOUND");
    await expectErrorShape(await call("GET", "/demo/api/trail"), 404, "NOT_FOUND");
  });

  it("runs the whole flow through the real endpoints without handing the browser a token", async () => {
    const created = await call("POST", "/demo/api/qr", {
      body: { kind: "registration", includeQRFallbackCode: true },
      env: demoEnv,
    });
    expect(created.status).toBe(200);
    expect(created.headers.get("content-security-policy")).toContain("script-src 'self'");
    const text = await created.text();
    expect(text).not.toMatch(/qrf_/);
    const json = JSON.parse(text) as { qrFallbackActivationCode: string; qrCode: string; qrImageSvg: string };
    expect(json.qrImageSvg).toMatch(/^<svg/);

    const res = await lookup(json.qrFallbackActivationCode, "198.51.100.90", { env: demoEnv });
    expect(((await res.json()) as { qrCode: string }).qrCode).toBe(json.qrCode);

    await waitForTrail((rows) => rows.filter((e) => e.rpAppId === "DemoApplication").length >= 2);
    const trail = await call("GET", "/demo/api/trail", { env: demoEnv });
    const events = (await trail.json()) as { eventName: string; rpAppId: string | null }[];
    expect(events.map((e) => e.eventName)).toEqual(
      expect.arrayContaining(["QR_FALLBACK_CODE_ISSUED", "QR_FALLBACK_PAYLOAD_RETRIEVED"]),
    );
    expect(events.every((e) => e.rpAppId === "DemoApplication")).toBe(true);
  });

  it("refuses what the API refuses, holds only a token of its own application, and only runs locally", async () => {
    await expectErrorShape(
      await call("POST", "/demo/api/qr", {
        rawBody: "kind=registration",
        headers: { "Content-Type": "text/plain" },
        env: demoEnv,
      }),
      415,
      "UNSUPPORTED_MEDIA_TYPE",
    );
    await expectErrorShape(
      await call("POST", "/demo/api/qr", { rawBody: JSON.stringify({ kind: "x".repeat(20_000) }), env: demoEnv }),
      413,
      "PAYLOAD_TOO_LARGE",
    );
    // The demo's server-side token: its own application, not admin.
    const tokens = await env.QR_KV.list<{ rpAppId: string; scopes: string[]; label: string }>({ prefix: "token:v1:" });
    const demoTokens = tokens.keys.filter((k) => k.metadata?.label.startsWith("demo page"));
    expect(demoTokens.length).toBeGreaterThan(0);
    for (const t of demoTokens) {
      expect(t.metadata).toMatchObject({ rpAppId: "DemoApplication", scopes: ["qr:create", "audit:read"] });
    }
    // With a public RP_URL, the flag makes the deployment refuse to serve rather than expose the demo.
    const deployed = { ...env, DEMO_ENABLED: "true", RP_URL: "https://qr.example.com" } as Env;
    await expectErrorShape(await call("GET", "/demo/", { env: deployed }), 503, "SERVICE_MISCONFIGURED");
    await expectErrorShape(
      await call("POST", "/rp/versioned/device/pendingqr", { body: { activationCode: "abcdef" }, env: deployed }),
      503,
      "SERVICE_MISCONFIGURED",
    );
  });

  it("creates authentication QRs too", async () => {
    const res = await call("POST", "/demo/api/qr", { body: { kind: "authentication" }, env: demoEnv });
    const json = (await res.json()) as { response: { qrCode: string } };
    expect(JSON.parse(json.response.qrCode).type).toBe("AUTHENTICATION");
  });
});

describe("static files come from the static-assets Worker", () => {
  it("serves the /docs page through the ASSETS binding with its own CSP", async () => {
    const res = await call("GET", "/docs/");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
    // HTML pages get the document headers too.
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    expect(res.headers.get("cross-origin-opener-policy")).toBe("same-origin");
    expect(await res.text()).toContain("swagger-ui");
  });

  it("serves the operator console with a strict CSP: scripts, styles and calls to this origin only", async () => {
    // /console redirects to /console/ (the test fetch follows it).
    expect(await (await call("GET", "/console")).text()).toContain("<title>qr-fallback console</title>");
    const res = await call("GET", "/console/");
    expect(res.status).toBe(200);
    const csp = res.headers.get("content-security-policy") ?? "";
    for (const directive of ["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'"]) {
      expect(csp).toContain(directive);
    }
    expect(csp).not.toContain("unsafe-inline");
    expect(res.headers.get("x-frame-options")).toBe("SAMEORIGIN");
    const html = await res.text();
    expect(html).toContain('<script src="console.js" defer></script>');
    expect(html).not.toMatch(/https?:\/\//);
    expect((await call("GET", "/console/console.js")).status).toBe(200);
  });

  it("serves a favicon, as /favicon.ico and as SVG", async () => {
    const ico = await call("GET", "/favicon.ico");
    expect(ico.status).toBe(200);
    expect(new Uint8Array(await ico.arrayBuffer()).slice(0, 4)).toEqual(new Uint8Array([0, 0, 1, 0]));
    const svg = await call("GET", "/favicon.svg");
    expect(svg.headers.get("content-type")).toContain("image/svg+xml");
    expect(await svg.text()).toContain("<svg");
  });

  it("answers 404 for a file that does not exist, and never sends API paths there", async () => {
    expect((await call("GET", "/docs/nope.js")).status).toBe(404);
    await expectErrorShape(await call("GET", "/rp/versioned/nope"), 404, "NOT_FOUND");
  });
});
