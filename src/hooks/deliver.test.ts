import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { hookRetryDelaySeconds, isHookDeadLetterQueue, standardWebhookHeaders } from "./deliver";
import { endpointProblem } from "./schemas";

describe("event-hook retries and endpoints", () => {
  it("backs off exponentially from the base, capped at 15 minutes", () => {
    expect([1, 2, 3, 4].map((a) => hookRetryDelaySeconds(a, 10))).toEqual([10, 20, 40, 80]);
    expect(hookRetryDelaySeconds(20, 10)).toBe(900);
  });

  it("accepts https to public hosts; local http only when allowed", () => {
    expect(endpointProblem("https://siem.example.com/services/collector", false)).toBeNull();
    expect(endpointProblem("http://siem.example.com/", false)).toMatch(/https/);
    expect(endpointProblem("https://192.168.1.10/", false)).toMatch(/public/);
    expect(endpointProblem("https://user:pw@siem.example.com/", false)).toMatch(/credentials/);
    expect(endpointProblem("http://127.0.0.1:9999/sink", false)).not.toBeNull();
    expect(endpointProblem("http://127.0.0.1:9999/sink", true)).toBeNull();
    expect(endpointProblem("not a url", true)).toMatch(/not a URL/);
  });
});

describe("the hooks' dead-letter queue", () => {
  it("is recognised under every environment's name (wrangler.toml), and no other queue is", () => {
    for (const name of ["qr-fallback-hooks-dlq", "qr-fallback-hooks-dlq-staging", "qr-fallback-hooks-dlq-production"]) {
      expect(isHookDeadLetterQueue(name)).toBe(true);
    }
    for (const name of ["qr-fallback-hooks", "qr-fallback-hooks-staging"]) {
      expect(isHookDeadLetterQueue(name)).toBe(false);
    }
  });
});

describe("Standard Webhooks signatures", () => {
  it("a secret made before 0.6.0 (whsec_ + 64 hex digits) verifies with the library, unchanged", async () => {
    const legacy = `whsec_${"0123456789abcdef".repeat(4)}`;
    const body = JSON.stringify({ id: "e1", eventName: "QR_FALLBACK_CODE_ISSUED" });
    const headers = await standardWebhookHeaders(legacy, "e1", body);
    expect(headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(new Webhook(legacy).verify(body, headers)).toEqual(JSON.parse(body));
  });
});
