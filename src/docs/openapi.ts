import * as z from "zod/mini";
import packageJson from "../../package.json";
import { applicationsSchema, searchPageSchema, searchQuerySchema } from "../audit/search";
import {
  authenticationRequestSchema,
  authenticationResponseSchema,
  pendingQrRequestSchema,
  pendingQrResponseSchema,
  registrationRequestSchema,
  registrationResponseSchema,
} from "../fallback/schemas";
import { ErrorCode, errorBodySchema, statusOf } from "../http/errors";
import { APPLICATIONS_PATH, AUDIT_SEARCH_PATH } from "../routes/audit";
import { PENDING_QR_PATHS } from "../routes/pending-qr";
import { AUTHENTICATION_PATHS, REGISTRATION_PATH } from "../routes/qr-create";

/**
 * The OpenAPI 3.1 document, generated from the very schemas that validate requests (and the
 * response schemas beside them), so the reference cannot drift from the code.
 */
type JsonSchema = Record<string, unknown>;
const schema = (s: z.ZodMiniType, io: "input" | "output" = "output"): JsonSchema => {
  const { $schema: _, ...rest } = z.toJSONSchema(s, { io, unrepresentable: "any" }) as JsonSchema;
  return rest;
};
const json = (s: JsonSchema) => ({ content: { "application/json": { schema: s } } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

function errors(...codes: ErrorCode[]) {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) byStatus.set(statusOf[code], [...(byStatus.get(statusOf[code]) ?? []), code]);
  return Object.fromEntries(
    [...byStatus].map(([status, list]) => [String(status), { description: list.join(", "), ...json(ref("Error")) }]),
  );
}

const bearer = [{ bearerToken: [] }];
const common = [ErrorCode.INVALID_REQUEST, ErrorCode.PAYLOAD_TOO_LARGE, ErrorCode.UNSUPPORTED_MEDIA_TYPE];

function queryParameters(s: z.ZodMiniType) {
  const props = (schema(s, "input").properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema(s, "input").required as string[] | undefined) ?? []);
  return Object.entries(props).map(([name, p]) => ({ name, in: "query", required: required.has(name), schema: p }));
}

export function buildOpenApiDocument(serverUrl: string) {
  const createOp = (summary: string, req: string, res: string) => ({
    summary,
    security: bearer,
    requestBody: { required: true, ...json(ref(req)) },
    responses: {
      "200": { description: "Created", ...json(ref(res)) },
      ...errors(
        ...common,
        ErrorCode.UNAUTHORIZED,
        ErrorCode.FORBIDDEN,
        ErrorCode.RATE_LIMITED,
        ErrorCode.CODE_SPACE_EXHAUSTED,
      ),
    },
  });
  const lookupOp = {
    summary: "Fetch a pending QR payload by activation code (open, single use)",
    requestBody: { required: true, ...json(ref("PendingQrRequest")) },
    responses: {
      "200": {
        description: "The qrCode string, byte for byte as the workstation received it",
        ...json(ref("PendingQrResponse")),
      },
      ...errors(
        ...common,
        ErrorCode.QR_FALLBACK_NOT_FOUND,
        ErrorCode.RATE_LIMITED,
        ErrorCode.ATTACK_MODE,
        ErrorCode.GUESS_BUDGET_UNAVAILABLE,
      ),
    },
  };
  const paths: Record<string, unknown> = {
    [REGISTRATION_PATH]: { post: createOp("Create a registration QR", "RegistrationRequest", "RegistrationResponse") },
    [AUDIT_SEARCH_PATH]: {
      get: {
        summary: "Search the audit trail: window [startTSUTC, endTSUTC) on loggedTimeInUTC",
        security: bearer,
        parameters: queryParameters(searchQuerySchema),
        responses: {
          "200": { description: "One page of the window", ...json(ref("AuditSearchPage")) },
          ...errors(ErrorCode.INVALID_REQUEST, ErrorCode.UNAUTHORIZED, ErrorCode.FORBIDDEN),
        },
      },
    },
    [APPLICATIONS_PATH]: {
      get: {
        summary: "List the RP applications that hold tokens (admin token)",
        security: bearer,
        responses: {
          "200": { description: "Applications", ...json(ref("Applications")) },
          ...errors(ErrorCode.UNAUTHORIZED, ErrorCode.FORBIDDEN),
        },
      },
    },
  };
  for (const path of AUTHENTICATION_PATHS) {
    paths[path] = {
      post: createOp("Create an authentication QR", "AuthenticationRequest", "AuthenticationResponse"),
    };
  }
  for (const path of PENDING_QR_PATHS) paths[path] = { post: lookupOp };

  return {
    openapi: "3.1.0",
    info: {
      title: "qr-fallback",
      version: packageJson.version,
      description: "QR fallback: activation codes for phones that cannot scan a QR code.",
    },
    servers: [{ url: serverUrl }],
    paths,
    components: {
      securitySchemes: { bearerToken: { type: "http", scheme: "bearer" } },
      schemas: {
        RegistrationRequest: schema(registrationRequestSchema, "input"),
        RegistrationResponse: schema(registrationResponseSchema),
        AuthenticationRequest: schema(authenticationRequestSchema, "input"),
        AuthenticationResponse: schema(authenticationResponseSchema),
        PendingQrRequest: schema(pendingQrRequestSchema, "input"),
        PendingQrResponse: schema(pendingQrResponseSchema),
        AuditSearchPage: schema(searchPageSchema),
        Applications: schema(applicationsSchema),
        Error: schema(errorBodySchema),
      },
    },
  };
}
