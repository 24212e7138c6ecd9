import type * as z from "zod/mini";
import { ErrorCode, statusOf } from "../http/errors";

/** Pieces every route's OpenAPI operation is written with (src/routes/*.ts). */
export type JsonSchema = Record<string, unknown>;

/** A zod schema's JSON Schema, as the document builder makes it (zod's converter stays out of the Worker). */
export type ToJsonSchema = (s: z.ZodMiniType, io: "input" | "output") => JsonSchema;
const DEFERRED = Symbol("built with the document");
/** A part of an operation built only when the document is (src/docs/openapi.ts resolves it). */
export const deferred = (build: (toJson: ToJsonSchema) => unknown): JsonSchema => ({ [DEFERRED]: build });
export const deferredBuild = (value: object) => (value as { [DEFERRED]?: (toJson: ToJsonSchema) => unknown })[DEFERRED];

/** The JSON Schema of a zod schema, in the document. */
export const schema = (s: z.ZodMiniType, io: "input" | "output" = "output"): JsonSchema =>
  deferred((toJson) => toJson(s, io));
export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
export const json = (s: JsonSchema, example?: unknown) => ({
  content: { "application/json": { schema: s, ...(example === undefined ? {} : { example }) } },
});
export const headers = (...names: ("Retry-After" | "X-Request-Id")[]) => ({
  headers: Object.fromEntries(names.map((n) => [n, { $ref: `#/components/headers/${n}` }])),
});
export const ok = (description: string, s: JsonSchema, example?: unknown) => ({
  description,
  ...headers("X-Request-Id"),
  ...json(s, example),
});
export const noContent = (description: string) => ({ description, ...headers("X-Request-Id") });
export const jsonBody = (name: string, example?: unknown) => ({ required: true, ...json(ref(name), example) });
export const pathParameter = (name: string, description: string) => ({
  name,
  in: "path",
  required: true,
  description,
  schema: { type: "string" },
});

/** One response per status, naming every error code it can carry, with an example body. */
export function errors(...codes: ErrorCode[]) {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of new Set(codes)) byStatus.set(statusOf[code], [...(byStatus.get(statusOf[code]) ?? []), code]);
  return Object.fromEntries(
    [...byStatus].map(([status, list]) => [
      String(status),
      {
        description: `Error: ${list.join(", ")}`,
        ...headers("X-Request-Id", ...(status === 429 || status === 503 ? (["Retry-After"] as const) : [])),
        ...json(ref("Error"), {
          error: { code: list[0], message: "A human sentence.", requestId: "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d" },
        }),
      },
    ]),
  );
}

export const bearer = [{ bearerToken: [] }];

export const EXAMPLE_CODE = "lpptzh";
export const EXAMPLE_QR =
  '{"version":1,"type":"REGISTRATION","rpAppId":"HYPRDefaultWorkstationApplication","rpUrl":"https://qr.example.com","sessionId":"7f0e4b5c-1d2e-4f3a-9b8c-7d6e5f4a3b2c","pin":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08","expiresAt":1764412345678,"activationCode":"lpptzh"}';

/** A JSON body: bad JSON or fields, too large, not JSON. */
export const BODY_ERRORS = [ErrorCode.INVALID_REQUEST, ErrorCode.PAYLOAD_TOO_LARGE, ErrorCode.UNSUPPORTED_MEDIA_TYPE];
/** A bearer token: absent/unknown/expired/revoked, missing scope, controls unreadable. */
export const AUTH_ERRORS = [ErrorCode.UNAUTHORIZED, ErrorCode.FORBIDDEN, ErrorCode.CONTROLS_UNAVAILABLE];
/** Any endpoint. */
export const API_ERRORS = [ErrorCode.SERVICE_MISCONFIGURED, ErrorCode.INTERNAL];
