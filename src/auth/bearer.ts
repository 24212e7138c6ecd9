import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../http/context";
import { AppError, ErrorCode } from "../http/errors";
import { getTokenRecord } from "./token-store";
import { hashToken } from "./tokens";

/** Resolves `Authorization: Bearer <token>` to its record by hash; 401 when absent or unknown. */
export const requireToken = createMiddleware<AppEnv>(async (c, next) => {
  const header = c.req.header("authorization") ?? "";
  const match = /^Bearer[ ]+(\S{1,512})\s*$/i.exec(header);
  if (!match) throw new AppError(ErrorCode.UNAUTHORIZED, "A valid API token is required.");
  const tokenHash = await hashToken(match[1]);
  const record = await getTokenRecord(c.env.QR_KV, tokenHash);
  if (!record) throw new AppError(ErrorCode.UNAUTHORIZED, "A valid API token is required.");
  c.set("principal", { ...record, tokenId: tokenHash.slice(0, 16) });
  await next();
});

/**
 * The RP app a request acts for: the token's own app by default; an RP token may act only for its
 * app, an admin token for any app but must name it.
 */
export function actingApp(principal: AppEnv["Variables"]["principal"], requested: string | undefined): string {
  if (principal.admin) {
    if (!requested) throw new AppError(ErrorCode.INVALID_REQUEST, "An admin token must name the rpAppId.");
    return requested;
  }
  if (requested !== undefined && requested !== principal.rpAppId) {
    throw new AppError(ErrorCode.FORBIDDEN, "This token may not act for that RP application.");
  }
  return principal.rpAppId;
}

export function requireAdmin(principal: AppEnv["Variables"]["principal"]): void {
  if (!principal.admin) throw new AppError(ErrorCode.FORBIDDEN, "This operation needs an admin token.");
}
