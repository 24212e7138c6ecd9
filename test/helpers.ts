import { env, exports } from "cloudflare:workers";
import { vi } from "vitest";
import type { AuditEvent } from "../src/audit/event";
import { createToken } from "../src/auth/tokens";

export const BASE = "https://qr.test";

export async function mintToken(rpAppId: string, admin = false): Promise<string> {
  return (await createToken(env.QR_KV, { rpAppId, admin, label: "test" })).token;
}

export interface CallOptions {
  token?: string;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
  ip?: string;
}

/** A request through the Worker's real fetch handler. */
export function call(method: string, path: string, opts: CallOptions = {}): Promise<Response> {
  const headers = new Headers(opts.headers);
  if (opts.token) headers.set("Authorization", `Bearer ${opts.token}`);
  if ((opts.body !== undefined || opts.rawBody !== undefined) && !headers.has("content-type")) {
    headers.set("Content-Type", "application/json");
  }
  headers.set("CF-Connecting-IP", opts.ip ?? "198.51.100.7");
  const body = opts.rawBody ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body));
  return exports.default.fetch(new Request(BASE + path, { method, headers, body }));
}

export async function createRegistration(token: string, body: Record<string, unknown> = {}) {
  const res = await call("POST", "/rp/versioned/client/qr/create", {
    token,
    body: { username: "alice", includeQRFallbackCode: true, ...body },
  });
  return {
    res,
    json: (await res.json()) as { qrCode: string; expirationTime: number; qrFallbackActivationCode?: string },
  };
}

export function lookup(activationCode: unknown, ip?: string) {
  return call("POST", "/rp/versioned/device/pendingqr", { body: { activationCode }, ip });
}

export async function expectErrorShape(res: Response, status: number, code: string) {
  const body = (await res.json()) as { error: { code: string; message: string; requestId: string } };
  if (
    res.status !== status ||
    body.error?.code !== code ||
    typeof body.error.message !== "string" ||
    !body.error.requestId
  ) {
    throw new Error(`expected ${status} ${code}, got ${res.status} ${JSON.stringify(body)}`);
  }
  return body;
}

/** Every row of the trail, oldest first, read straight from D1. */
export async function trailRows(): Promise<AuditEvent[]> {
  const { results } = await env.AUDIT_DB.prepare(
    "SELECT body, loggedTimeInUTC FROM audit_events ORDER BY eventTimeInUTC, id",
  ).all<{ body: string; loggedTimeInUTC: number }>();
  return results.map((r) => ({ ...JSON.parse(r.body), loggedTimeInUTC: r.loggedTimeInUTC }));
}

/** Polls the trail until `predicate` holds (queue delivery is asynchronous), within a bound. */
export function waitForTrail(predicate: (rows: AuditEvent[]) => boolean, timeout = 10_000): Promise<AuditEvent[]> {
  return vi.waitUntil(
    async () => {
      const rows = await trailRows();
      return predicate(rows) ? rows : false;
    },
    { timeout, interval: 50 },
  );
}
