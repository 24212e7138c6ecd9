import { createFactory } from "hono/factory";
import * as z from "zod/mini";
import type { QueuedAuditEvent } from "../../common/audit-contract";
import { AuditEventName } from "../../common/audit-contract";
import { auditEventOf, sendStoredAudit } from "../audit/record";
import { requireScope } from "../auth/bearer";
import { revokeToken, tokenListSchema, tokenRequestSchema, tokenSchema, visibleTokens } from "../auth/token-admin";
import { createToken } from "../auth/tokens";
import { keepEventStatement } from "../controls/change-events";
import { invalidateControls } from "../controls/controls-snapshot";
import {
  API_ERRORS,
  AUTH_ERRORS,
  BODY_ERRORS,
  bearer,
  errors,
  jsonBody,
  noContent,
  ok,
  pathParameter,
  ref,
  schema,
} from "../docs/openapi-parts";
import type { AppEnv } from "../http/context";
import { AppError, ErrorCode } from "../http/errors";
import { limitBody, requireJsonBody } from "../http/middleware";
import type { ApiRoute } from "../http/route";
import { validate } from "../http/validate";

/** API tokens by API (admin): SPEC §7 and §11. A token is shown once, at creation. */
const factory = createFactory<AppEnv>();
const tags = ["Tokens"];

export const createTokenRoute: ApiRoute = {
  method: "post",
  paths: ["/cc/api/tokens"],
  handlers: factory.createHandlers(
    limitBody,
    requireJsonBody,
    requireScope("admin"),
    validate("json", tokenRequestSchema),
    async (c) => {
      const body = c.req.valid("json");
      let event: QueuedAuditEvent | null = null;
      const { token, record } = await createToken(
        c.env.QR_KV,
        c.env.CONTROL_DB,
        { rpAppId: body.rpAppId ?? null, scopes: body.scopes, label: body.label, expiresInDays: body.expiresInDays },
        {
          keepEvent: (made) => {
            event = auditEventOf(c, {
              eventName: AuditEventName.TOKEN_CREATED,
              message: `API token created (${made.scopes.join(",")})`,
              subName: "tokens",
              rpAppId: made.rpAppId,
              isSuccessful: true,
              errorCode: null,
              change: { actorTokenId: c.get("principal").id, tokenId: made.id, scopes: made.scopes },
            });
            return keepEventStatement(c.env.CONTROL_DB, event);
          },
        },
      );
      if (event) sendStoredAudit(c, event);
      return c.json({ ...record, token }, 201);
    },
  ),
  operation: {
    operationId: "createToken",
    tags,
    summary: "Create an API token (admin token)",
    description:
      "Scopes: qr:create (the create endpoints), audit:read (its application's trail and application list), admin (everything, every application; bound to none). Without scopes an application token gets qr:create and audit:read. The token is in this answer only; it is stored as a SHA-256 hash. Recorded as QR_FALLBACK_TOKEN_CREATED.",
    security: bearer,
    requestBody: jsonBody("TokenRequest", {
      rpAppId: "HYPRDefaultWorkstationApplication",
      scopes: ["qr:create"],
      label: "workstation fleet",
      expiresInDays: 90,
    }),
    responses: {
      "201": ok("The token (shown once) and its record.", ref("TokenCreated")),
      ...errors(...BODY_ERRORS, ...AUTH_ERRORS, ...API_ERRORS),
    },
  },
  schemas: {
    TokenRequest: schema(tokenRequestSchema, "input"),
    TokenCreated: schema(z.extend(tokenSchema, { token: z.string() })),
  },
};

export const listTokensRoute: ApiRoute = {
  method: "get",
  paths: ["/cc/api/tokens"],
  handlers: factory.createHandlers(requireScope("admin"), async (c) =>
    c.json(await visibleTokens(c.env.CONTROL_DB, Date.now())),
  ),
  operation: {
    operationId: "listTokens",
    tags,
    summary: "List the API tokens that are neither revoked nor expired (admin token)",
    description: "Ids, applications, scopes, labels and times: never a token nor its hash.",
    security: bearer,
    responses: { "200": ok("Tokens, newest first.", ref("TokenList")), ...errors(...AUTH_ERRORS, ...API_ERRORS) },
  },
  schemas: { TokenList: schema(tokenListSchema) },
};

export const revokeTokenRoute: ApiRoute = {
  method: "delete",
  paths: ["/cc/api/tokens/:id"],
  handlers: factory.createHandlers(requireScope("admin"), async (c) => {
    const revoked = await revokeToken(c.env.QR_KV, c.env.CONTROL_DB, c.req.param("id") ?? "", (record) =>
      auditEventOf(c, {
        eventName: AuditEventName.TOKEN_REVOKED,
        message: "API token revoked",
        subName: "tokens",
        rpAppId: record.rpAppId,
        isSuccessful: true,
        errorCode: null,
        change: { actorTokenId: c.get("principal").id, tokenId: record.id, scopes: record.scopes },
      }),
    );
    if (!revoked) throw new AppError(ErrorCode.NOT_FOUND, "No such API token.");
    invalidateControls(c.env.CONTROL_DB);
    if (revoked.event) sendStoredAudit(c, revoked.event);
    return c.body(null, 204);
  }),
  operation: {
    operationId: "revokeToken",
    tags,
    summary: "Revoke an API token by id (admin token)",
    description:
      "Refused at once by the isolate that served this request and everywhere within 9 s. Revoking a revoked token is accepted again. Recorded as QR_FALLBACK_TOKEN_REVOKED.",
    security: bearer,
    parameters: [pathParameter("id", "The token's id (16 hex characters, as listed).")],
    responses: {
      "204": noContent("Revoked."),
      ...errors(...AUTH_ERRORS, ErrorCode.NOT_FOUND, ...API_ERRORS),
    },
  },
};
