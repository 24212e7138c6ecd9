import { describe, expect, it } from "vitest";
import { buildAuditEvent } from "../src/audit/event";
import { chunkEvents } from "./audit-contract";

const event = () =>
  buildAuditEvent({ tenantId: "t", securityAppId: "QRFallbackSecurity" }, null, {
    eventName: "QR_FALLBACK_PAYLOAD_RETRIEVED",
    message: "m",
    subName: "device/pendingqr",
    rpAppId: "App",
    isSuccessful: true,
    errorCode: null,
  });

describe("chunkEvents", () => {
  it("puts a batch in one JSON array when it fits", () => {
    const events = [event(), event(), event()];
    const chunks = chunkEvents(events);
    expect(chunks).toHaveLength(1);
    expect(JSON.parse(chunks[0])).toEqual(events);
  });

  it("splits by size, keeps every event once and in order, never exceeds the limit", () => {
    const events = Array.from({ length: 10 }, event);
    const one = JSON.stringify(events[0]).length;
    const limit = one * 3 + 10;
    const chunks = chunkEvents(events, limit);
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) expect(chunk.length).toBeLessThanOrEqual(limit);
    expect(chunks.flatMap((c) => JSON.parse(c))).toEqual(events);
  });

  it("gives an event larger than the limit a chunk of its own", () => {
    const events = [event(), event()];
    const chunks = chunkEvents(events, 10);
    expect(chunks.map((c) => JSON.parse(c))).toEqual([[events[0]], [events[1]]]);
  });
});
