import * as z from "zod/mini";
import { version } from "../../package.json";
import { errorBodySchema } from "../http/errors";
import { API_ROUTES } from "../routes/api-routes";
import { deferredBuild, type JsonSchema, schema, type ToJsonSchema } from "./openapi-parts";

const toJsonSchema: ToJsonSchema = (s, io) => {
  const { $schema: _, ...rest } = z.toJSONSchema(s, { io, unrepresentable: "any" }) as JsonSchema;
  return rest;
};

/** `value` with every deferred part (a schema, a parameter list) built. */
function resolved(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(resolved);
  if (value === null || typeof value !== "object") return value;
  const build = deferredBuild(value);
  if (build) return resolved(build(toJsonSchema));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolved(v)]));
}

/**
 * The OpenAPI 3.1 document, built from the routes themselves (src/routes/api-routes.ts): each route
 * file carries its operation, written with the very schemas that validate requests, so the reference
 * cannot drift from the code. The tests check every answer of the integration suite against it
 * (test/helpers.ts), and `npm run check` lints it with Redocly's recommended rules. The server URL
 * is relative, so /docs' "Try it out" calls whatever host and port served the page. It is built
 * before a deploy into public/openapi.json (scripts/vendor-assets.mjs), which the static-assets
 * Worker serves: zod's JSON Schema converter stays out of the main Worker.
 */
export function buildOpenApiDocument() {
  return resolved(documentParts()) as ReturnType<typeof documentParts>;
}

function documentParts() {
  const paths: Record<string, Record<string, unknown>> = {};
  const schemas: Record<string, unknown> = {};
  for (const route of API_ROUTES) {
    route.paths.forEach((path, i) => {
      const template = path.replace(/:(\w+)/g, "{$1}");
      // The vendor's older paths are the same operation under another id.
      const operationId = i === 0 ? route.operation.operationId : `${route.operation.operationId}LegacyPath`;
      paths[template] = { ...paths[template], [route.method]: { ...route.operation, operationId } };
    });
    Object.assign(schemas, route.schemas);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "qr-fallback",
      version: version,
      description:
        "QR Fallback Controls at the edge: short activation codes for phones that cannot scan a QR code. Behaviour and limits: docs/api.md in the repository.",
      license: { name: "MIT", identifier: "MIT" },
    },
    servers: [{ url: "/", description: "The host and port that served this document" }],
    tags: [
      { name: "QR codes", description: "Create QR payloads with activation codes, and fetch them by code." },
      { name: "Audit", description: "The audit trail, as SIEMs poll it." },
      { name: "Applications", description: "QR Fallback Controls per RP application, and the deployment's state." },
      { name: "Tokens", description: "Scoped, expiring API tokens." },
      { name: "Event hooks", description: "Push the audit trail's events to a SIEM." },
    ],
    paths,
    components: {
      securitySchemes: {
        bearerToken: {
          type: "http",
          scheme: "bearer",
          description: "An API token (npm run token, or POST /cc/api/tokens).",
        },
      },
      headers: {
        "X-Request-Id": {
          description: "This request's id, also in error bodies, logs and the audit event's traceId.",
          required: true,
          schema: { type: "string" },
        },
        "Retry-After": {
          description:
            "Seconds to wait before trying again: on 429 RATE_LIMITED and on 503 ATTACK_MODE, GUESS_BUDGET_UNAVAILABLE and CONTROLS_UNAVAILABLE.",
          required: false,
          schema: { type: "integer" },
        },
      },
      schemas: { ...schemas, Error: schema(errorBodySchema) },
    },
  };
}
