import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { log } from "../../common/log";
import type { AppEnv } from "./context";
import { AppError, ErrorCode, errorBody, statusOf } from "./errors";

/** Maps any thrown error to the spec's error shape; internal details go to the log only. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof HTTPException && err.status === 400) {
    // Hono's own parse failures (malformed JSON).
    return new AppError(ErrorCode.INVALID_REQUEST, "The request body is not valid JSON.");
  }
  return new AppError(ErrorCode.INTERNAL, "An internal error occurred.");
}

export function onError(err: unknown, c: Context<AppEnv>): Response {
  const appError = toAppError(err);
  const requestId = c.get("requestId") ?? crypto.randomUUID();
  if (appError.code === ErrorCode.INTERNAL) {
    log("error", "unhandled error", {
      requestId,
      path: c.req.path,
      error: err instanceof Error ? err.stack : String(err),
    });
  }
  if (appError.retryAfterSeconds !== undefined) c.header("Retry-After", String(appError.retryAfterSeconds));
  c.header("Cache-Control", "no-store");
  return c.json(errorBody(appError, requestId), statusOf[appError.code]);
}
