import { describe, expect, it } from "vitest";
import * as z from "zod/mini";
import { buildAuditEvent } from "../src/audit/event";
import { auditEventSchema, chunkEvents, newEventId, queuedAuditEventSchema } from "./audit-contract";

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

describe("newEventId", () => {
  it("is a UUIDv7: the time's 48 bits first, version 7, variant 10", () => {
    const now = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
    const id = newEventId(now);
    const hex = id.replaceAll("-", "");
    expect(Number.parseInt(hex.slice(0, 12), 16)).toBe(now);
    expect(hex[12]).toBe("7");
    expect("89ab").toContain(hex[16]);
    expect(newEventId(now)).not.toBe(id);
  });

  it("sorts in time order across milliseconds, as text", () => {
    const times = [0, 1, 255, 256, 65_535, 1_000_000_000_000, Date.now(), 2 ** 48 - 1];
    for (const [a, b] of times.slice(1).map((t, i) => [times[i], t])) {
      for (let n = 0; n < 20; n++) expect(newEventId(a) < newEventId(b)).toBe(true);
    }
    const ids = Array.from({ length: 50 }, (_, i) => newEventId(1_764_412_345_678 + i));
    expect([...ids].sort()).toEqual(ids);
  });

  it("is accepted by the event's schemas: zod's uuid and the OpenAPI document's pattern", () => {
    const event = buildAuditEvent({ tenantId: "t", securityAppId: "QRFallbackSecurity" }, null, {
      eventName: "QR_FALLBACK_CODE_ISSUED",
      message: "m",
      subName: "client/qr/create",
      rpAppId: "App",
      isSuccessful: true,
      errorCode: null,
    });
    expect(event.id[14]).toBe("7");
    expect(Number.parseInt(event.id.replaceAll("-", "").slice(0, 12), 16)).toBe(event.eventTimeInUTC);
    expect(queuedAuditEventSchema.safeParse(event).success).toBe(true);
    const idSchema = z.toJSONSchema(auditEventSchema).properties?.id as { format: string; pattern: string };
    expect(idSchema.format).toBe("uuid");
    for (let n = 0; n < 100; n++) expect(newEventId()).toMatch(new RegExp(idSchema.pattern));
  });
});
