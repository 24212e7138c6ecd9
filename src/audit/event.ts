/**
 * The audit event: the vendor's shape, defined once and imported by both Workers.
 * User-identifying fields are always null; no code, pin, username or payload ever goes in.
 */
import * as z from "zod/mini";

export const AuditEventName = {
  PAYLOAD_RETRIEVED: "QR_FALLBACK_PAYLOAD_RETRIEVED",
  CODE_ISSUED: "QR_FALLBACK_CODE_ISSUED",
  LOCKDOWN_STARTED: "QR_FALLBACK_LOCKDOWN_STARTED",
  LOCKDOWN_ENDED: "QR_FALLBACK_LOCKDOWN_ENDED",
} as const;
export type AuditEventName = (typeof AuditEventName)[keyof typeof AuditEventName];

const nullOnly = z.null();
const text = (max: number) => z.string().check(z.maxLength(max));
const nullableText = (max: number) => z.nullable(text(max));

/** What the producer sends on the queue; `loggedTimeInUTC` is assigned when the row is written. */
export const queuedAuditEventSchema = z.strictObject({
  id: z.uuid(),
  version: z.literal(1),
  type: z.literal("AUDIT"),
  eventName: z.enum(Object.values(AuditEventName) as [AuditEventName, ...AuditEventName[]]),
  message: text(512),
  subName: text(128),
  eventLoggedBy: z.literal("RELYING_PARTY_SERVER"),
  eventTimeInUTC: z.int().check(z.nonnegative()),
  tenantId: text(128),
  remoteIP: nullableText(64),
  userAgent: nullableText(256),
  traceId: nullableText(128),
  rpAppId: nullableText(128),
  isSuccessful: z.boolean(),
  errorCode: nullableText(64),
  errorSeverity: nullableText(32),
  deviceId: nullOnly,
  machineId: nullOnly,
  sessionId: nullOnly,
  fidoUser: nullOnly,
  machineUserName: nullOnly,
  additionalDetails: z.strictObject({
    extras: z.strictObject({ fallbackId: z.optional(z.uuid()) }),
  }),
});

export type QueuedAuditEvent = z.infer<typeof queuedAuditEventSchema>;
/** An event as the trail holds and the search API returns it. */
export const auditEventSchema = z.extend(queuedAuditEventSchema, { loggedTimeInUTC: z.int() });
export type AuditEvent = QueuedAuditEvent & { loggedTimeInUTC: number };

/** Keeps the network, drops the host: IPv4 to /24, IPv6 to /48. Anything unparsable becomes null. */
export function truncateIp(ip: string | null | undefined): string | null {
  if (!ip) return null;
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (v4) {
    const parts = v4.slice(1, 4).map(Number);
    return parts.every((p) => p <= 255) ? `${parts.join(".")}.0` : null;
  }
  const groups = expandIpv6(ip);
  return groups ? `${groups.slice(0, 3).join(":")}::` : null;
}

function expandIpv6(ip: string): string[] | null {
  if (!/^[0-9a-fA-F:.]+$/.test(ip) || ip.split("::").length > 2) return null;
  let text = ip.toLowerCase();
  // An embedded IPv4 tail (::ffff:1.2.3.4) counts as two groups.
  const tail = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (tail) {
    const b = tail.slice(1).map(Number);
    if (b.some((x) => x > 255)) return null;
    text = `${text.slice(0, tail.index)}${((b[0] << 8) | b[1]).toString(16)}:${((b[2] << 8) | b[3]).toString(16)}`;
  }
  const [head, rest] = text.split("::");
  const left = head ? head.split(":") : [];
  const right = rest ? rest.split(":") : [];
  const missing = 8 - left.length - right.length;
  if (rest === undefined ? missing !== 0 : missing < 1) return null;
  const groups = [...left, ...Array(rest === undefined ? 0 : missing).fill("0"), ...right];
  if (groups.some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return null;
  return groups.map((g) => g.replace(/^0+(?=.)/, ""));
}
