import { describe, expect, it } from "vitest";
import { hookRetryDelaySeconds } from "./deliver";
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
