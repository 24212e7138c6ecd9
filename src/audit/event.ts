/**
 * The audit event: the vendor's shape, defined once and imported by both Workers.
 * User-identifying fields are always null; no code, pin, username or payload ever goes in.
 */
import * as z from "zod/mini";
import { parseIp } from "../lib/ip";

export const AuditEventName = {
  PAYLOAD_RETRIEVED: "QR_FALLBACK_PAYLOAD_RETRIEVED",
  CODE_ISSUED: "QR_FALLBACK_CODE_ISSUED",
  ATTACK_MODE_STARTED: "QR_FALLBACK_ATTACK_MODE_STARTED",
  ATTACK_MODE_ENDED: "QR_FALLBACK_ATTACK_MODE_ENDED",
  /** Written by earlier versions (a global lockout, replaced by attack mode); kept so old rows stay valid. */
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
  const parsed = parseIp(ip);
  if (!parsed) return null;
  return parsed.v === 4 ? `${parsed.octets.slice(0, 3).join(".")}.0` : `${parsed.groups.slice(0, 3).join(":")}::`;
}
