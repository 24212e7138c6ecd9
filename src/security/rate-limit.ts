import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../http/context";
import { AppError, ErrorCode } from "../http/errors";

/** The Rate Limiting binding counts per period of this many seconds (see wrangler.toml). */
export const RATE_LIMIT_PERIOD_SECONDS = 60;

export function clientAddress(req: Request): string {
  return req.headers.get("cf-connecting-ip") ?? "unknown";
}

async function enforce(limiter: RateLimit, key: string, message: string): Promise<void> {
  const { success } = await limiter.limit({ key });
  if (!success) throw new AppError(ErrorCode.RATE_LIMITED, message, RATE_LIMIT_PERIOD_SECONDS);
}

/** Lookups are limited per client address: the endpoint is open, so the address is all there is. */
export const limitLookups = createMiddleware<AppEnv>(async (c, next) => {
  await enforce(c.env.LOOKUP_LIMITER, clientAddress(c.req.raw), "Too many lookups from this address; try again later.");
  await next();
});

/** Creations are limited per token (runs after the token is resolved). */
export const limitCreates = createMiddleware<AppEnv>(async (c, next) => {
  await enforce(
    c.env.CREATE_LIMITER,
    `token:${c.get("principal").tokenId}`,
    "Too many QR codes created with this token; try again later.",
  );
  await next();
});
