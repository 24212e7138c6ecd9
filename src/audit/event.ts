// An audit event as the producer builds it: the vendor's shape, PII-free (the client's network, never
// its address), filed under the security application when it belongs to none.
import { type AuditEventName, eventTagsOf, newEventId, type QueuedAuditEvent } from "../../common/audit-contract";
import { parseIp } from "../lib/ip";

/** Who asked: taken from the request, already stripped of anything identifying. */
export interface RequestOrigin {
  remoteIP: string | null;
  userAgent: string | null;
  traceId: string;
}

export function originOf(req: Request, traceId: string): RequestOrigin {
  return {
    remoteIP: truncateIp(req.headers.get("cf-connecting-ip")),
    userAgent: req.headers.get("user-agent")?.slice(0, 256) ?? null,
    traceId,
  };
}

export interface AuditFields {
  eventName: AuditEventName;
  message: string;
  subName: string;
  /** null: the event belongs to no RP application; it is filed under the security application. */
  rpAppId: string | null;
  isSuccessful: boolean;
  errorCode: string | null;
  fallbackId?: string;
  /** Refusal summaries: how many, in the minute starting at `windowStartUTC`. */
  refused?: { count: number; windowStartUTC: number; topNetworks?: { network: string; count: number }[] };
  /** Administrators' changes (tokens, settings): who and what, never a secret. */
  change?: Pick<
    QueuedAuditEvent["additionalDetails"]["extras"],
    "actorTokenId" | "tokenId" | "scopes" | "settingsBefore" | "settingsAfter"
  >;
}

/** Where an event goes and whose it is: the deployment's tenant and its security application. */
export interface AuditScope {
  tenantId: string;
  securityAppId: string;
}

export function buildAuditEvent(
  scope: AuditScope,
  origin: RequestOrigin | null,
  fields: AuditFields,
): QueuedAuditEvent {
  const now = Date.now();
  return {
    id: newEventId(now),
    version: 1,
    type: "AUDIT",
    eventName: fields.eventName,
    message: fields.message,
    subName: fields.subName,
    eventLoggedBy: "RELYING_PARTY_SERVER",
    eventTimeInUTC: now,
    tenantId: scope.tenantId,
    remoteIP: origin?.remoteIP ?? null,
    userAgent: origin?.userAgent ?? null,
    traceId: origin?.traceId ?? null,
    rpAppId: fields.rpAppId ?? scope.securityAppId,
    isSuccessful: fields.isSuccessful,
    errorCode: fields.errorCode,
    errorSeverity: fields.isSuccessful ? null : "WARN",
    deviceId: null,
    machineId: null,
    sessionId: null,
    fidoUser: null,
    machineUserName: null,
    additionalDetails: {
      extras: {
        ...(fields.fallbackId ? { fallbackId: fields.fallbackId } : {}),
        ...(fields.refused
          ? {
              refusedCount: fields.refused.count,
              windowStartUTC: fields.refused.windowStartUTC,
              ...(fields.refused.topNetworks ? { topNetworks: fields.refused.topNetworks } : {}),
            }
          : {}),
        ...fields.change,
      },
    },
    eventTags: eventTagsOf(fields.eventName, fields.isSuccessful),
  };
}

/** Keeps the network, drops the host: IPv4 to /24, IPv6 to /48. Anything unparsable becomes null. */
export function truncateIp(ip: string | null | undefined): string | null {
  const parsed = parseIp(ip);
  if (!parsed) return null;
  return parsed.v === 4 ? `${parsed.octets.slice(0, 3).join(".")}.0` : `${parsed.groups.slice(0, 3).join(":")}::`;
}
