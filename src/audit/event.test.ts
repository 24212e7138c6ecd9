import { describe, expect, it } from "vitest";
import { truncateIp } from "./event";

describe("truncateIp", () => {
  it("keeps an IPv4 /24", () => {
    expect(truncateIp("203.0.113.77")).toBe("203.0.113.0");
    expect(truncateIp("256.0.0.1")).toBeNull();
  });

  it("keeps an IPv6 /48, expanding :: wherever it stands", () => {
    expect(truncateIp("2001:db8:abcd:12:1:2:3:4")).toBe("2001:db8:abcd::");
    expect(truncateIp("2001:db8::1")).toBe("2001:db8:0::");
    expect(truncateIp("::1")).toBe("0:0:0::");
    expect(truncateIp("2001:0DB8:00AB:ffff::")).toBe("2001:db8:ab::");
    expect(truncateIp("::ffff:198.51.100.9")).toBe("0:0:0::");
  });

  it("returns null for what is not an address", () => {
    for (const bad of [undefined, null, "", "localhost", "1:2:3", "1::2::3", "12345::", "1:2:3:4:5:6:7:8:9"]) {
      expect(truncateIp(bad)).toBeNull();
    }
  });
});
