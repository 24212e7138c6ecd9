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
import { eventHookCreatedSchema, eventHookListSchema, eventHookRequestSchema } from "../hooks/schemas";
import { ErrorCode, errorBodySchema, statusOf } from "../http/errors";
import { APPLICATIONS_PATH, AUDIT_SEARCH_PATH } from "../routes/audit";
import { EVENT_HOOKS_PATH } from "../routes/event-hooks";
import { PENDING_QR_PATHS } from "../routes/pending-qr";
import { AUTHENTICATION_PATHS, REGISTRATION_PATH } from "../routes/qr-create";

/**
 * The OpenAPI 3.1 document, generated from the very schemas that validate requests (and the
 * response schemas beside them), so the reference cannot drift from the code. The tests check every
 * answer of the integration suite against it (test/helpers.ts), and `npm run check` lints it with
 * Redocly's recommended rules (scripts/lint-openapi.mjs). The server URL is relative, so /docs'
 * "Try it out" calls whatever host and port served the page.
 */
type JsonSchema = Record<string, unknown>;
const schema = (s: z.ZodMiniType, io: "input" | "output" = "output"): JsonSchema => {
  const { $schema: _, ...rest } = z.toJSONSchema(s, { io, unrepresentable: "any" }) as JsonSchema;
  return rest;
};
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (s: JsonSchema, example?: unknown) => ({
  content: { "application/json": { schema: s, ...(example === undefined ? {} : { example }) } },
});
const headers = (...names: ("Retry-After" | "X-Request-Id")[]) => ({
  headers: Object.fromEntries(names.map((n) => [n, { $ref: `#/components/headers/${n}` }])),
});

/** One response per status, naming every error code it can carry, with an example body. */
function errors(...codes: ErrorCode[]) {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) byStatus.set(statusOf[code], [...(byStatus.get(statusOf[code]) ?? []), code]);
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

const bearer = [{ bearerToken: [] }];
const body = [ErrorCode.INVALID_REQUEST, ErrorCode.PAYLOAD_TOO_LARGE, ErrorCode.UNSUPPORTED_MEDIA_TYPE];
const auth = [ErrorCode.UNAUTHORIZED, ErrorCode.FORBIDDEN];
const always = [ErrorCode.SERVICE_MISCONFIGURED, ErrorCode.INTERNAL];

function queryParameters(s: z.ZodMiniType) {
  const props = (schema(s, "input").properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema(s, "input").required as string[] | undefined) ?? []);
  return Object.entries(props).map(([name, p]) => ({
    name,
    in: "query",
    required: required.has(name),
    description: QUERY_DESCRIPTIONS[name] ?? name,
    schema: p,
  }));
}
const QUERY_DESCRIPTIONS: Record<string, string> = {
  rpAppId: "The RP application whose trail to read (an RP token may name only its own).",
  startTSUTC: "Start of the window on loggedTimeInUTC, epoch ms, inclusive.",
  endTSUTC: "End of the window on loggedTimeInUTC, epoch ms, exclusive.",
  pageSize: "Events per page, 1 to 1000.",
  pageNumber: "1-based page number.",
  orderBy: "Sort column; ties are broken by id. Fixed by the first page of a window.",
  sortDir: "asc or desc. Fixed by the first page of a window.",
  eventName: "Only events of this name.",
};

const ok = (description: string, s: JsonSchema, example?: unknown) => ({
  description,
  ...headers("X-Request-Id"),
  ...json(s, example),
});

const EXAMPLE_CODE = "lpptzh";
const EXAMPLE_QR =
  '{"version":1,"type":"REGISTRATION","rpAppId":"HYPRDefaultWorkstationApplication","rpUrl":"https://qr.example.com","sessionId":"7f0e4b5c-1d2e-4f3a-9b8c-7d6e5f4a3b2c","pin":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08","expiresAt":1764412345678,"activationCode":"lpptzh"}';

export function buildOpenApiDocument() {
  const createOp = (operationId: string, summary: string, req: string, res: string, example: unknown) => ({
    operationId,
    tags: ["QR codes"],
    summary,
    description:
      "Creates a QR payload for the token's RP application. With includeQRFallbackCode the payload is also cached under a short activation code (long while attack mode is on) that the mobile app can type instead of scanning.",
    security: bearer,
    requestBody: { required: true, ...json(ref(req)) },
    responses: {
      "200": ok("The QR payload (and the activation code when asked for).", ref(res), example),
      ...errors(...body, ...auth, ErrorCode.RATE_LIMITED, ErrorCode.CODE_SPACE_EXHAUSTED, ...always),
    },
  });
  const lookupOp = (operationId: string) => ({
    operationId,
    tags: ["QR codes"],
    summary: "Fetch a pending QR payload by activation code (open, single use)",
    description:
      "Open endpoint for the mobile app. Unknown, expired, used and malformed codes get one identical 400 answer. Limited per client and network; codes of the normal length are refused with 503 ATTACK_MODE while attack mode is on.",
    security: [],
    requestBody: { required: true, ...json(ref("PendingQrRequest"), { activationCode: EXAMPLE_CODE }) },
    responses: {
      "200": ok("The qrCode string, byte for byte as the workstation received it.", ref("PendingQrResponse"), {
        qrCode: EXAMPLE_QR,
      }),
      ...errors(
        ...body,
        ErrorCode.QR_FALLBACK_NOT_FOUND,
        ErrorCode.RATE_LIMITED,
        ErrorCode.ATTACK_MODE,
        ErrorCode.GUESS_BUDGET_UNAVAILABLE,
        ...always,
      ),
    },
  });
  const registrationExample = {
    qrCode: EXAMPLE_QR,
    expirationTime: 1764412345678,
    qrFallbackActivationCode: EXAMPLE_CODE,
  };
  const authenticationExample = {
    status: { responseCode: 200, responseMessage: "QR authentication request created" },
    response: {
      requestId: "2c1d0e9f-8a7b-4c6d-9e5f-4a3b2c1d0e9f",
      qrCode: EXAMPLE_QR.replace("REGISTRATION", "AUTHENTICATION"),
      expirationTime: 1764412345678,
    },
    activationCode: EXAMPLE_CODE,
  };
  const paths: Record<string, unknown> = {
    [REGISTRATION_PATH]: {
      post: createOp(
        "createRegistrationQr",
        "Create a registration QR",
        "RegistrationRequest",
        "RegistrationResponse",
        registrationExample,
      ),
    },
    [AUDIT_SEARCH_PATH]: {
      get: {
        operationId: "searchAuditTrail",
        tags: ["Audit"],
        summary: "Search the audit trail: window [startTSUTC, endTSUTC) on loggedTimeInUTC",
        description:
          "Pages of one window of the trail. An RP token reads its own application's events; an admin token reads all, or one application's. Consecutive windows give every event exactly once.",
        security: bearer,
        parameters: queryParameters(searchQuerySchema),
        responses: {
          "200": ok("One page of the window.", ref("AuditSearchPage")),
          ...errors(ErrorCode.INVALID_REQUEST, ...auth, ...always),
        },
      },
    },
    [APPLICATIONS_PATH]: {
      get: {
        operationId: "listApplications",
        tags: ["Audit"],
        summary: "List the RP applications that hold tokens, and the security application (admin token)",
        description: "What a SIEM integration polls: every application's trail, plus the security application's.",
        security: bearer,
        responses: {
          "200": ok("Applications.", ref("Applications"), [{ appID: "HYPRDefaultWorkstationApplication" }]),
          ...errors(...auth, ...always),
        },
      },
    },
    [EVENT_HOOKS_PATH]: {
      post: {
        operationId: "createEventHook",
        tags: ["Event hooks"],
        summary: "Register an event hook (admin token)",
        description:
          "Matching events are pushed to the endpoint at least once, signed with X-QRF-Signature under the secret returned here once. Header values are stored sealed and never returned.",
        security: bearer,
        requestBody: { required: true, ...json(ref("EventHookRequest")) },
        responses: {
          "201": ok("The hook, with its signing secret (shown once).", ref("EventHookCreated")),
          ...errors(...body, ...auth, ...always),
        },
      },
      get: {
        operationId: "listEventHooks",
        tags: ["Event hooks"],
        summary: "List the event hooks with their delivery status (admin token)",
        description: "Never returns a header value or a signing secret.",
        security: bearer,
        responses: {
          "200": ok("Hooks.", ref("EventHookList")),
          ...errors(...auth, ...always),
        },
      },
    },
    [`${EVENT_HOOKS_PATH}/{id}`]: {
      delete: {
        operationId: "deleteEventHook",
        tags: ["Event hooks"],
        summary: "Delete an event hook (admin token)",
        description: "Deliveries still queued for it are dropped.",
        security: bearer,
        parameters: [
          { name: "id", in: "path", required: true, description: "The hook's id.", schema: { type: "string" } },
        ],
        responses: {
          "204": { description: "Deleted.", ...headers("X-Request-Id") },
          ...errors(...auth, ErrorCode.NOT_FOUND, ...always),
        },
      },
    },
  };
  AUTHENTICATION_PATHS.forEach((path, i) => {
    paths[path] = {
      post: createOp(
        i === 0 ? "createAuthenticationQr" : "createAuthenticationQrLegacyPath",
        "Create an authentication QR",
        "AuthenticationRequest",
        "AuthenticationResponse",
        authenticationExample,
      ),
    };
  });
  PENDING_QR_PATHS.forEach((path, i) => {
    paths[path] = { post: lookupOp(i === 0 ? "fetchPendingQr" : "fetchPendingQrLegacyPath") };
  });

  return {
    openapi: "3.1.0",
    info: {
      title: "qr-fallback",
      version: packageJson.version,
      description:
        "QR Fallback Controls at the edge: short activation codes for phones that cannot scan a QR code. Behaviour and limits: docs/api.md in the repository.",
      license: { name: "MIT", identifier: "MIT" },
    },
    servers: [{ url: "/", description: "The host and port that served this document" }],
    tags: [
      { name: "QR codes", description: "Create QR payloads with activation codes, and fetch them by code." },
      { name: "Audit", description: "The audit trail, as SIEMs poll it." },
      { name: "Event hooks", description: "Push the audit trail's events to a SIEM." },
    ],
    paths,
    components: {
      securitySchemes: {
        bearerToken: { type: "http", scheme: "bearer", description: "An API token (npm run token)." },
      },
      headers: {
        "X-Request-Id": {
          description: "This request's id, also in error bodies, logs and the audit event's traceId.",
          required: true,
          schema: { type: "string" },
        },
        "Retry-After": {
          description:
            "Seconds to wait before trying again: on 429 RATE_LIMITED, 503 ATTACK_MODE and 503 GUESS_BUDGET_UNAVAILABLE.",
          required: false,
          schema: { type: "integer" },
        },
      },
      schemas: {
        RegistrationRequest: schema(registrationRequestSchema, "input"),
        RegistrationResponse: schema(registrationResponseSchema),
        AuthenticationRequest: schema(authenticationRequestSchema, "input"),
        AuthenticationResponse: schema(authenticationResponseSchema),
        PendingQrRequest: schema(pendingQrRequestSchema, "input"),
        PendingQrResponse: schema(pendingQrResponseSchema),
        AuditSearchPage: schema(searchPageSchema),
        Applications: schema(applicationsSchema),
        EventHookRequest: schema(eventHookRequestSchema, "input"),
        EventHookCreated: schema(eventHookCreatedSchema),
        EventHookList: schema(eventHookListSchema),
        Error: schema(errorBodySchema),
      },
    },
  };
}
