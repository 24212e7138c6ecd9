import { Hono } from "hono";
import { cors } from "hono/cors";
import { secureHeaders } from "hono/secure-headers";
import { configOf } from "./config";
import type { AppEnv } from "./http/context";
import { AppError, ErrorCode } from "./http/errors";
import { limitBody, noStore, requestId, requireJsonBody } from "./http/middleware";
import { onError } from "./http/on-error";
import { APPLICATIONS_PATH, AUDIT_SEARCH_PATH, auditRoutes } from "./routes/audit";
import { demoRoutes } from "./routes/demo";
import { docsRoutes } from "./routes/docs";
import { EVENT_HOOK_PATH, EVENT_HOOKS_PATH, eventHookRoutes } from "./routes/event-hooks";
import { PENDING_QR_PATHS, pendingQrRoutes } from "./routes/pending-qr";
import { AUTHENTICATION_PATHS, qrCreateRoutes, REGISTRATION_PATH } from "./routes/qr-create";
import { isPagePath } from "./routes/static-files";

/** Every path the API serves, for the 405 answer to a known path with the wrong method. */
const KNOWN_PATHS = [
  REGISTRATION_PATH,
  ...AUTHENTICATION_PATHS,
  ...PENDING_QR_PATHS,
  AUDIT_SEARCH_PATH,
  APPLICATIONS_PATH,
  EVENT_HOOKS_PATH,
  EVENT_HOOK_PATH,
];

/**
 * JSON answers carry the headers that matter to an API (OWASP REST: HSTS, nosniff, no framing, no
 * cross-origin reads); the document-only ones (XSS filter, download options, DNS prefetch, COOP...)
 * go on HTML pages only. Fewer bytes on every answer to a phone.
 */
const apiHeaders = secureHeaders({
  crossOriginResourcePolicy: "same-origin",
  xFrameOptions: "DENY",
  crossOriginOpenerPolicy: false,
  originAgentCluster: false,
  referrerPolicy: false,
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xPermittedCrossDomainPolicies: false,
  xXssProtection: false,
});
const pageHeaders = secureHeaders({ crossOriginResourcePolicy: "same-origin" });

/** The whole HTTP app, built in one place. */
export function buildApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use("*", requestId, noStore);
  app.use("*", (c, next) => (isPagePath(c.req.path) ? pageHeaders(c, next) : apiHeaders(c, next)));
  // CORS is closed unless the deployment lists origins in CORS_ALLOWED_ORIGINS; with none listed the
  // middleware is not run at all (no `Vary: Origin` on every answer: each header has a cost).
  const corsForListedOrigins = cors({
    origin: (origin, c) => (configOf(c.env).corsAllowedOrigins.includes(origin) ? origin : null),
    allowMethods: ["GET", "POST"],
    allowHeaders: ["Authorization", "Content-Type"],
    maxAge: 600,
  });
  // Config is read (and so checked) before any route: a bad configuration refuses to serve.
  app.use("*", (c, next) => (configOf(c.env).corsAllowedOrigins.length > 0 ? corsForListedOrigins(c, next) : next()));
  // The lookup route applies these itself, inside its audit middleware.
  for (const path of [REGISTRATION_PATH, ...AUTHENTICATION_PATHS]) app.post(path, limitBody, requireJsonBody);

  app.route("/", pendingQrRoutes);
  app.route("/", qrCreateRoutes);
  app.route("/", auditRoutes);
  app.route("/", eventHookRoutes);
  app.route("/", docsRoutes);
  app.route(
    "/",
    demoRoutes((request, env, ctx) => app.fetch(request, env, ctx)),
  );

  for (const path of KNOWN_PATHS) {
    app.all(path, () => {
      throw new AppError(ErrorCode.METHOD_NOT_ALLOWED, "This method is not allowed on this path.");
    });
  }
  app.notFound((c) => onError(new AppError(ErrorCode.NOT_FOUND, "No such endpoint."), c));
  app.onError(onError);
  return app;
}
