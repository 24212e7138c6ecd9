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

  // One row per special-use name and IANA special-purpose range (and spellings of them); then public hosts.
  it.each([
    "https://localhost./",
    "https://siem.example.com./",
    "https://metadata.google.internal./",
    "https://metadata.google.internal/",
    "https://foo.local/",
    "https://foo.localhost/",
    "https://printer.home.arpa/",
    "https://x.onion/",
    "https://intranet/",
    "https://0.0.0.1/",
    "https://10.1.2.3/",
    "https://100.64.0.1/",
    "https://127.0.0.1/",
    "https://0x7f.1/",
    "https://2130706433/",
    "https://169.254.169.254/",
    "https://172.16.0.1/",
    "https://192.0.0.8/",
    "https://192.0.2.1/",
    "https://192.88.99.1/",
    "https://192.168.1.10/",
    "https://198.18.0.1/",
    "https://198.51.100.7/",
    "https://203.0.113.9/",
    "https://224.0.0.1/",
    "https://240.0.0.1/",
    "https://255.255.255.255/",
    "https://[::]/",
    "https://[::1]/",
    "https://[::ffff:10.0.0.1]/",
    "https://[64:ff9b::a00:1]/",
    "https://[100::1]/",
    "https://[2001::1]/",
    "https://[2001:db8::1]/",
    "https://[2002:a00:1::]/",
    "https://[fc00::1]/",
    "https://[fd12:3456::1]/",
    "https://[fe80::1]/",
    "https://[ff02::1]/",
  ])("refuses %s (not a public host)", (url) => {
    expect(endpointProblem(url, false)).toMatch(/public host/);
  });

  it.each([
    "https://siem.example.com/",
    "https://8.8.8.8/",
    "https://[2606:4700:4700::1111]/",
    "https://1.1.1.1:8443/x",
  ])("accepts %s", (url) => {
    expect(endpointProblem(url, false)).toBeNull();
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
