import { env } from "cloudflare:workers";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { normalizeActivationCode } from "../src/fallback/activation-code";
import { call, createRegistration, mintToken } from "./helpers";

// Attack mode and the daily caps are by design; lift them so the fuzzer can go deep.
const fuzzEnv = {
  ...env,
  GUESS_BUDGET_PER_MINUTE: "100000000",
  GUESS_BUDGET_PER_DAY: "100000000",
  CLIENT_DAILY_FAILURE_CAP: "100000000",
  NETWORK_DAILY_FAILURE_CAP: "100000000",
} as Env;

const PATHS = [
  "/rp/versioned/client/qr/create",
  "/rp/api/oob/qr/client/authentication/requests",
  "/oob/qr/client/authentication/requests",
  "/rp/versioned/device/pendingqr",
  "/rp/device/pendingqr",
  "/cc/api/versioned/audit/search",
  "/cc/api/application",
];

const headerValue = fc.stringMatching(/^[\x20-\x7e]{0,80}$/);
const jsonish = fc.oneof(
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc
    .record(
      {
        activationCode: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
        rpAppId: fc.oneof(fc.string({ maxLength: 200 }), fc.constant("FuzzApp")),
        appId: fc.string(),
        namedUser: fc.string(),
        includeQRFallbackCode: fc.oneof(fc.boolean(), fc.string()),
        sessionNonce: fc.string(),
      },
      { requiredKeys: [] },
    )
    .map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 300 }),
  fc.constant("x".repeat(17_000)),
);

let token: string;
let liveCode: string;
let liveQr: string;

beforeAll(async () => {
  token = await mintToken("FuzzApp");
  const { json } = await createRegistration(token);
  liveCode = json.qrFallbackActivationCode as string;
  liveQr = json.qrCode;
});

function assertSpecError(status: number, body: string) {
  expect(status).toBeLessThan(500);
  if (status >= 400) {
    const parsed = JSON.parse(body);
    expect(Object.keys(parsed)).toEqual(["error"]);
    expect(parsed.error.code).toMatch(/^[A-Z_]+$/);
    expect(typeof parsed.error.message).toBe("string");
    expect(parsed.error.requestId).toMatch(/^[0-9a-f-]{36}$/);
  }
}

describe("fuzz: random requests at every endpoint (fast-check, inside workerd)", () => {
  it("never answers 5xx and always uses the error shape", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"),
        fc.oneof(
          fc.constantFrom(...PATHS),
          fc.webPath(),
          fc.constantFrom(...PATHS).map((p) => `${p}/x`),
        ),
        fc.webQueryParameters(),
        fc.option(jsonish, { nil: undefined }),
        fc.constantFrom(
          "application/json",
          "application/application-json",
          "text/plain",
          "",
          "application/json; charset=utf-8",
        ),
        fc.option(
          fc.oneof(
            fc.constant(`Bearer ${"t"}`),
            headerValue.map((v) => `Bearer ${v}`),
            headerValue,
          ),
          { nil: undefined },
        ),
        fc.ipV4(),
        async (method, path, query, body, contentType, authorization, ip) => {
          const headers: Record<string, string> = {};
          if (contentType) headers["Content-Type"] = contentType;
          if (authorization) headers.Authorization = authorization;
          const hasBody = body !== undefined && method !== "GET" && method !== "HEAD";
          const res = await call(method, `${path}?${query}`, {
            rawBody: hasBody ? body : undefined,
            headers,
            ip,
            env: fuzzEnv,
          });
          const text = await res.text();
          if (method !== "HEAD") assertSpecError(res.status, text);
          else expect(res.status).toBeLessThan(500);
        },
      ),
      { numRuns: 1500 },
    );
  });

  it("authenticated requests with random bodies never 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...PATHS.slice(0, 3)), jsonish, fc.ipV4(), async (path, body, ip) => {
        const res = await call("POST", path, { token, rawBody: body, ip, env: fuzzEnv });
        assertSpecError(res.status, await res.text());
      }),
      { numRuns: 800 },
    );
  });

  it("never hands out a payload for a code that is not the live one", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 40 }),
          fc.stringMatching(/^[a-z]{6}$/),
          fc.stringMatching(/^[A-Za-z -]{4,12}$/),
          fc.constant(liveCode).map((c) => c.slice(0, 5)),
          fc.constant(liveCode).map((c) => `${c}a`),
        ),
        fc.ipV4(),
        async (guess, ip) => {
          fc.pre(normalizeActivationCode(guess) !== liveCode);
          const res = await call("POST", "/rp/versioned/device/pendingqr", {
            body: { activationCode: guess },
            ip,
            env: fuzzEnv,
          });
          const text = await res.text();
          expect(res.status === 400 || res.status === 429).toBe(true);
          expect(text).not.toContain("qrCode");
        },
      ),
      { numRuns: 300 },
    );
    // The live code is still there, untouched by all the guessing.
    const res = await call("POST", "/rp/versioned/device/pendingqr", {
      body: { activationCode: liveCode },
      env: fuzzEnv,
    });
    expect(((await res.json()) as { qrCode: string }).qrCode).toBe(liveQr);
  }, 90_000); // each guess is a claim-shard call and a ledger call (a new object per network): ~30 ms here
});
