import type { ContentfulStatusCode } from "hono/utils/http-status";
import * as z from "zod/mini";

/** Every error the API can answer with; the HTTP status lives in one table below. */
export const ErrorCode = {
  INVALID_REQUEST: "INVALID_REQUEST",
  UNAUTHORIZED: "UNAUTHORIZED",
  FORBIDDEN: "FORBIDDEN",
  QR_FALLBACK_DISABLED: "QR_FALLBACK_DISABLED",
  NOT_FOUND: "NOT_FOUND",
  METHOD_NOT_ALLOWED: "METHOD_NOT_ALLOWED",
  PAYLOAD_TOO_LARGE: "PAYLOAD_TOO_LARGE",
  UNSUPPORTED_MEDIA_TYPE: "UNSUPPORTED_MEDIA_TYPE",
  QR_FALLBACK_NOT_FOUND: "QR_FALLBACK_NOT_FOUND",
  RATE_LIMITED: "RATE_LIMITED",
  ATTACK_MODE: "ATTACK_MODE",
  GUESS_BUDGET_UNAVAILABLE: "GUESS_BUDGET_UNAVAILABLE",
  SERVICE_MISCONFIGURED: "SERVICE_MISCONFIGURED",
  CODE_SPACE_EXHAUSTED: "CODE_SPACE_EXHAUSTED",
  CONTROLS_UNAVAILABLE: "CONTROLS_UNAVAILABLE",
  INTERNAL: "INTERNAL",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export const statusOf: Record<ErrorCode, ContentfulStatusCode> = {
  INVALID_REQUEST: 400,
  QR_FALLBACK_NOT_FOUND: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  QR_FALLBACK_DISABLED: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  SERVICE_MISCONFIGURED: 503,
  CODE_SPACE_EXHAUSTED: 503,
  ATTACK_MODE: 503,
  GUESS_BUDGET_UNAVAILABLE: 503,
  CONTROLS_UNAVAILABLE: 503,
};

/** The one error type of the API. `message` is shown to callers: never put a secret in it. */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = "AppError";
  }
}

export const errorBodySchema = z.object({
  error: z.object({
    code: z.enum(Object.values(ErrorCode) as [ErrorCode, ...ErrorCode[]]),
    message: z.string(),
    requestId: z.string(),
  }),
});

export interface ErrorBody {
  error: { code: ErrorCode; message: string; requestId: string };
}

export function errorBody(err: AppError, requestId: string): ErrorBody {
  return { error: { code: err.code, message: err.message, requestId } };
}
