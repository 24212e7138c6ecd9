// A typed client for qr-fallback: the paths and bodies of the OpenAPI document (schema.d.ts, generated
// by `npm run client`) through openapi-fetch, a few hundred bytes of fetch. Every call returns
// `{ data }` or `{ error }` (the service's error body) and the Response.
import createClient, { type Client } from "openapi-fetch";
import type { components, paths } from "./schema.d.ts";

export type QrFallbackClient = Client<paths>;
export type ErrorBody = components["schemas"]["Error"];

/**
 * A client for the service at `baseUrl`. The workstation and the administrator pass their API token;
 * the phone passes none (the lookup by code is open).
 */
export function qrFallbackClient(baseUrl: string, token?: string): QrFallbackClient {
  return createClient<paths>({ baseUrl, headers: token ? { Authorization: `Bearer ${token}` } : {} });
}

/** What the phone gets for a code: the QR payload, parsed (registration or authentication). */
export interface QrPayload {
  version: number;
  type: "REGISTRATION" | "AUTHENTICATION";
  rpAppId: string;
  rpUrl: string;
  pin: string;
  expiresAt: number;
  activationCode?: string;
  [field: string]: unknown;
}

/** The phone's Manual Entry: the payload for a typed code, or the service's error (one body for every miss). */
export async function lookupCode(
  client: QrFallbackClient,
  activationCode: string,
): Promise<{ payload: QrPayload } | { error: ErrorBody }> {
  const { data, error } = await client.POST("/rp/versioned/device/pendingqr", { body: { activationCode } });
  if (error) return { error };
  return { payload: JSON.parse(data.qrCode) as QrPayload };
}
