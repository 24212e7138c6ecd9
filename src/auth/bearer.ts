import { createMiddleware } from "hono/factory";
import { controlsOf } from "../controls/controls-snapshot";
import type { AppEnv } from "../http/context";
import { AppError, ErrorCode } from "../http/errors";
import { hasScope, type Scope } from "./token-record";
import { getTokenRecord } from "./token-store";
import { hashToken } from "./tokens";

const unauthorized = () => new AppError(ErrorCode.UNAUTHORIZED, "A valid API token is required.");

/**
 * Resolves `Authorization: Bearer <token>` to its record by hash and lets the request through only
 * if the token is unexpired, not revoked (the controls snapshot: within 9 s everywhere) and holds
 * `scope` (or `admin`). 401 for an absent, unknown, expired or revoked token; 403 for a missing scope.
 */
export function requireScope(scope: Scope) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const match = /^Bearer[ ]+(\S{1,512})\s*$/i.exec(c.req.header("authorization") ?? "");
    if (!match) throw unauthorized();
    const record = await getTokenRecord(c.env.QR_KV, await hashToken(match[1]));
    if (!record || (record.expiresAt !== null && record.expiresAt <= Date.now())) throw unauthorized();
    // Only admin tokens are bound to no application: a record that says otherwise is not trusted
    // (an unbound application token would otherwise read every trail and act for every app).
    if (record.rpAppId === null && !record.scopes.includes("admin")) throw unauthorized();
    const controls = await controlsOf(c.env.CONTROL_DB, (p) => c.executionCtx.waitUntil(p));
    if (controls.revokedTokenIds.has(record.id)) throw unauthorized();
    if (!hasScope(record, scope)) {
      throw new AppError(ErrorCode.FORBIDDEN, `This operation needs a token with the ${scope} scope.`);
    }
    c.set("principal", record);
    c.set("controls", controls);
    await next();
  });
}

export const isAdmin = (principal: AppEnv["Variables"]["principal"]) => principal.scopes.includes("admin");

/**
 * The RP app a request acts for: the token's own app by default; an app token may act only for its
 * app, an admin token for any app but must name it.
 */
export function actingApp(principal: AppEnv["Variables"]["principal"], requested: string | undefined): string {
  if (isAdmin(principal)) {
    if (!requested) throw new AppError(ErrorCode.INVALID_REQUEST, "An admin token must name the rpAppId.");
    return requested;
  }
  if (requested !== undefined && requested !== principal.rpAppId) {
    throw new AppError(ErrorCode.FORBIDDEN, "This token may not act for that RP application.");
  }
  if (principal.rpAppId === null) throw new AppError(ErrorCode.FORBIDDEN, "This token is bound to no application.");
  return principal.rpAppId;
}
