import * as z from "zod/mini";
import { AuditEventName } from "../../common/audit-contract";
import { rpAppIdSchema } from "../http/app-id";
import { type ParsedIp, parseIp } from "../lib/ip";

const EVENT_TYPES = ["ALL", ...Object.values(AuditEventName)] as [string, ...string[]];
const headerName = z.string().check(z.regex(/^[A-Za-z0-9-]{1,64}$/, "must be an HTTP header name"));

/** The vendor's Custom Event Hook. Header values are secrets: stored sealed, never returned. */
export const eventHookRequestSchema = z
  .object({
    name: z.string().check(z.trim(), z.minLength(1), z.maxLength(128)),
    eventType: z.enum(EVENT_TYPES),
    rpAppId: z.optional(rpAppIdSchema),
    invocationEndpoint: z.string().check(z.maxLength(2048)),
    httpMethod: z._default(z.enum(["POST", "PUT"]), "POST"),
    authType: z._default(z.enum(["NONE", "BASIC", "BEARER"]), "NONE"),
    headerParameters: z._default(z.record(headerName, z.string().check(z.maxLength(4096))), {}),
    format: z._default(z.enum(["json", "splunk-hec"]), "json"),
  })
  .check(
    z.refine((h) => Object.keys(h.headerParameters).length <= 20, {
      message: "at most 20 headers",
      path: ["headerParameters"],
    }),
    z.refine(
      (h) =>
        h.authType === "NONE" ||
        new RegExp(`^${h.authType === "BASIC" ? "Basic" : "Bearer"} \\S`).test(
          Object.entries(h.headerParameters).find(([k]) => k.toLowerCase() === "authorization")?.[1] ?? "",
        ),
      { message: "authType BASIC or BEARER needs an Authorization header of that scheme", path: ["headerParameters"] },
    ),
  );

/** Special-use domain names (RFC 6761, RFC 6762, RFC 8375, RFC 9476, ICANN's .internal): never a public host. */
const SPECIAL_NAMES = /(^|\.)(localhost|local|internal|invalid|test|example|onion|alt|home\.arpa)$/i;

/**
 * IANA IPv4 and IPv6 Special-Purpose Address Registries (RFC 6890 and successors), plus multicast
 * and the reserved 240/4: no hook endpoint may point into them.
 */
const SPECIAL_V4: [string, number][] = [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.31.196.0", 24],
  ["192.52.193.0", 24],
  ["192.88.99.0", 24],
  ["192.168.0.0", 16],
  ["192.175.48.0", 24],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
];
const SPECIAL_V6: [string, number][] = [
  ["::", 96],
  ["::ffff:0:0", 96],
  ["64:ff9b::", 96],
  ["64:ff9b:1::", 48],
  ["100::", 64],
  ["2001::", 23],
  ["2001:db8::", 32],
  ["2002::", 16],
  ["3fff::", 20],
  ["5f00::", 16],
  ["fc00::", 7],
  ["fe80::", 10],
  ["fec0::", 10],
  ["ff00::", 8],
];

/** The address as bits (a string of 0s and 1s): prefixes compare as string prefixes. */
function bitsOf(ip: ParsedIp): string {
  return ip.v === 4
    ? ip.octets.map((o) => o.toString(2).padStart(8, "0")).join("")
    : ip.groups.map((g) => Number.parseInt(g, 16).toString(2).padStart(16, "0")).join("");
}

function isSpecialAddress(ip: ParsedIp): boolean {
  const bits = bitsOf(ip);
  return (ip.v === 4 ? SPECIAL_V4 : SPECIAL_V6).some(([base, length]) => {
    const parsed = parseIp(base);
    return parsed !== null && bitsOf(parsed).slice(0, length) === bits.slice(0, length);
  });
}

/**
 * Deployed, a hook must be https to a public host: not a special-use name, not a name ending in a
 * dot, not a special-purpose address. With `allowLocal` (npm run dev, tests), http or https to
 * localhost / 127.0.0.1 is accepted too, so a local sink can receive. Returns the reason when the
 * endpoint is refused.
 */
export function endpointProblem(raw: string, allowLocal: boolean): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "invocationEndpoint is not a URL";
  }
  if (url.username || url.password) return "invocationEndpoint must not carry credentials (use headerParameters)";
  const local = url.hostname === "localhost" || url.hostname === "127.0.0.1";
  if (allowLocal && local && (url.protocol === "http:" || url.protocol === "https:")) return null;
  if (url.protocol !== "https:") return "invocationEndpoint must be https";
  const host = url.hostname;
  // The URL parser has turned every IPv4 spelling (octal, hex, one number) into dotted decimal.
  const address = parseIp(host.startsWith("[") ? host.slice(1, -1) : host);
  const isPublic = address
    ? !isSpecialAddress(address)
    : !host.endsWith(".") && host.includes(".") && !SPECIAL_NAMES.test(host);
  return isPublic ? null : "invocationEndpoint must be a public host";
}

/** What the API answers about a hook: never a header value, the signing secret only at creation. */
export const eventHookSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  eventType: z.string(),
  rpAppId: z.nullable(z.string()),
  invocationEndpoint: z.string(),
  httpMethod: z.enum(["POST", "PUT"]),
  authType: z.enum(["NONE", "BASIC", "BEARER"]),
  format: z.enum(["json", "splunk-hec"]),
  headerNames: z.array(z.string()),
  createdAt: z.int(),
});
export const eventHookCreatedSchema = z.extend(eventHookSchema, { secret: z.string() });
export const eventHookListSchema = z.array(
  z.extend(eventHookSchema, {
    status: z.object({
      lastSuccessAt: z.nullable(z.int()),
      lastErrorAt: z.nullable(z.int()),
      lastError: z.nullable(z.string()),
      delivered: z.int(),
      failed: z.int(),
      deadLettered: z.int(),
    }),
  }),
);
