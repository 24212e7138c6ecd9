import * as z from "zod/mini";
import { AuditEventName } from "../../common/audit-contract";

const EVENT_TYPES = ["ALL", ...Object.values(AuditEventName)] as [string, ...string[]];
const headerName = z.string().check(z.regex(/^[A-Za-z0-9-]{1,64}$/, "must be an HTTP header name"));

/** The vendor's Custom Event Hook. Header values are secrets: stored sealed, never returned. */
export const eventHookRequestSchema = z
  .object({
    name: z.string().check(z.trim(), z.minLength(1), z.maxLength(128)),
    eventType: z.enum(EVENT_TYPES),
    rpAppId: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
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

const HOSTS_NEVER_PUBLIC = /^(localhost|.*\.localhost|.*\.local|.*\.internal|0\.0\.0\.0|\[.*\])$/i;
const PRIVATE_V4 =
  /^(10\.|127\.|169\.254\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\.)/;

/**
 * Deployed, a hook must be https to a public host; with `allowLocal` (npm run dev, tests), http or
 * https to localhost / 127.0.0.1 is accepted too, so a local sink can receive. Returns the reason
 * when the endpoint is refused.
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
  if (HOSTS_NEVER_PUBLIC.test(url.hostname) || PRIVATE_V4.test(url.hostname) || !url.hostname.includes(".")) {
    return "invocationEndpoint must be a public host";
  }
  return null;
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
