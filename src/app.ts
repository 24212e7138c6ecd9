import { type Handler, Hono } from "hono";
import { cors } from "hono/cors";
import { secureHeaders } from "hono/secure-headers";
import { configOf } from "./config";
import type { AppEnv } from "./http/context";
import { AppError, ErrorCode } from "./http/errors";
import { noStore, requestId } from "./http/middleware";
import { onError } from "./http/on-error";
import { API_ROUTES } from "./routes/api-routes";
import { consoleRoutes } from "./routes/console";
import { demoRoutes } from "./routes/demo";
import { docsRoutes } from "./routes/docs";
import { isPagePath } from "./routes/static-files";

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
  for (const route of API_ROUTES) {
    for (const path of route.paths) app.on(route.method.toUpperCase(), path, ...(route.handlers as [Handler]));
  }
  app.route("/", docsRoutes);
  app.route("/", consoleRoutes);
  app.route(
    "/",
    demoRoutes((request, env, ctx) => app.fetch(request, env, ctx)),
  );

  // A known path with another method: 405, not 404.
  for (const path of new Set(API_ROUTES.flatMap((r) => r.paths))) {
    app.all(path, () => {
      throw new AppError(ErrorCode.METHOD_NOT_ALLOWED, "This method is not allowed on this path.");
    });
  }
  app.notFound((c) => onError(new AppError(ErrorCode.NOT_FOUND, "No such endpoint."), c));
  app.onError(onError);
  return app;
}
