import { describe, expect, it } from "vitest";
import { call, createRegistration, expectErrorShape, lookup, mintToken, waitForTrail } from "./helpers";

describe("per-client lookup limit (Rate Limiting binding on CF-Connecting-IP)", () => {
  it("stops a guessing client with 429 + Retry-After well within 60 guesses; other clients are unaffected", async () => {
    const statuses: number[] = [];
    let limited: Response | undefined;
    for (let i = 0; i < 60 && !limited; i++) {
      const res = await lookup(`guess${String.fromCharCode(97 + (i % 26))}`, "198.51.100.66");
      statuses.push(res.status);
      if (res.status === 429) limited = res;
    }
    expect(limited).toBeDefined();
    expect(statuses.length).toBeLessThanOrEqual(30);
    expect(statuses.slice(0, 5)).toEqual([400, 400, 400, 400, 400]); // a person's few typos are never blocked
    expect(Number(limited?.headers.get("retry-after"))).toBeGreaterThan(0);
    await expectErrorShape(limited as Response, 429, "RATE_LIMITED");

    // Another address still gets its payload.
    const { json } = await createRegistration(await mintToken("LimitApp"));
    const other = await lookup(json.qrFallbackActivationCode, "198.51.100.67");
    expect(other.status).toBe(200);

    // The limited attempt is still audited, and says it was limited.
    const rows = await waitForTrail((r) => r.some((e) => e.errorCode === "RATE_LIMITED"));
    expect(rows.find((e) => e.errorCode === "RATE_LIMITED")).toMatchObject({
      eventName: "QR_FALLBACK_PAYLOAD_RETRIEVED",
      isSuccessful: false,
      remoteIP: "198.51.100.0",
    });
  });

  it("limits creations per token", async () => {
    const token = await mintToken("CreateFlood");
    let status = 200;
    let n = 0;
    while (status === 200 && n < 700) {
      status = (await call("POST", "/rp/versioned/client/qr/create", { token, body: {}, via: "handler" })).status;
      n++;
    }
    expect(status).toBe(429);
    expect(n).toBe(601); // CREATE_LIMITER: 600 per 60 s per token
    // A different token is not affected.
    const other = await call("POST", "/rp/versioned/client/qr/create", {
      token: await mintToken("CreateFlood"),
      body: {},
    });
    expect(other.status).toBe(200);
  });
});
