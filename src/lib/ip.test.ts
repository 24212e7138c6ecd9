import { describe, expect, it } from "vitest";
import { clientKeyOf, networkKeyOf } from "./ip";

describe("client and network keys", () => {
  it("an IPv4 address is one client in its /24", () => {
    expect(clientKeyOf("203.0.113.77")).toBe("203.0.113.77");
    expect(networkKeyOf("203.0.113.77")).toBe("203.0.113.0/24");
  });

  it("every address of one IPv6 /64 is the same client; the /48 is its network", () => {
    const a = "2001:db8:abcd:12:1:2:3:4";
    const b = "2001:0db8:abcd:0012:ffff::9";
    expect(clientKeyOf(a)).toBe(clientKeyOf(b));
    expect(clientKeyOf(a)).toBe("2001:db8:abcd:12::/64");
    expect(clientKeyOf("2001:db8:abcd:13::1")).not.toBe(clientKeyOf(a));
    expect(networkKeyOf("2001:db8:abcd:13::1")).toBe(networkKeyOf(a));
    expect(networkKeyOf(a)).toBe("2001:db8:abcd::/48");
  });

  it("an IPv4-mapped IPv6 address is its IPv4 client", () => {
    expect(clientKeyOf("::ffff:198.51.100.9")).toBe("198.51.100.9");
    expect(networkKeyOf("::ffff:198.51.100.9")).toBe("198.51.100.0/24");
  });

  it("what is not an address shares one key", () => {
    expect(clientKeyOf("localhost")).toBe("unknown");
    expect(networkKeyOf(undefined)).toBe("unknown");
  });
});
