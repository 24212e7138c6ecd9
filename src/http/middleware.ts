import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "./context";
import { AppError, ErrorCode } from "./errors";

export const MAX_BODY_BYTES = 16 * 1024;

/** A fresh id per request, echoed in `X-Request-Id`, every error body and every log line. */
export const requestId = createMiddleware<AppEnv>(async (c, next) => {
  const id = crypto.randomUUID();
  c.set("requestId", id);
  await next();
  c.res.headers.set("X-Request-Id", id);
});

/** Nothing this API answers may be cached: payloads, codes and audit data alike. */
export const noStore = createMiddleware<AppEnv>(async (c, next) => {
  await next();
  c.res.headers.set("Cache-Control", "no-store");
});

/**
 * POST bodies must say they are JSON. Clients that send odd JSON types
 * (`application/application-json`, `text/json`) are accepted and read as `application/json`.
 */
export const requireJsonBody = createMiddleware<AppEnv>(async (c, next) => {
  if (c.req.method === "POST") {
    const type = (c.req.header("content-type") ?? "").trim().toLowerCase();
    if (!/^[\w.+-]+\/[\w.+-]*json\b/.test(type)) {
      throw new AppError(
        ErrorCode.UNSUPPORTED_MEDIA_TYPE,
        "The request body must be JSON (Content-Type: application/json).",
      );
    }
    if (!type.startsWith("application/json")) {
      const headers = new Headers(c.req.raw.headers);
      headers.set("content-type", "application/json");
      c.req.raw = new Request(c.req.raw, { headers });
    }
  }
  await next();
});

/** Rejects large bodies before anything parses them, streamed or not. */
export const limitBody = bodyLimit({
  maxSize: MAX_BODY_BYTES,
  onError: () => {
    throw new AppError(ErrorCode.PAYLOAD_TOO_LARGE, `The request body is larger than ${MAX_BODY_BYTES} bytes.`);
  },
});
