import type { ValidationTargets } from "hono";
import { validator } from "hono/validator";
import type * as z from "zod/mini";
import { AppError, ErrorCode } from "./errors";

/** Schema validation whose failures become the spec's 400; messages name fields, never echo values. */
export function validate<T extends z.ZodMiniType, Target extends keyof ValidationTargets>(target: Target, schema: T) {
  return validator(target, (value): z.output<T> => {
    const result = schema.safeParse(value);
    if (result.success) return result.data;
    const detail = result.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.join(".") || target}: ${i.message}`)
      .join("; ");
    throw new AppError(ErrorCode.INVALID_REQUEST, `The request is not valid (${detail}).`);
  });
}
