import { Hono } from "hono";
import { configOf } from "../config";
import { buildOpenApiDocument } from "../docs/openapi";
import type { AppEnv } from "../http/context";
import { fromStaticFiles, STATIC_PATHS } from "./static-files";

/** `GET /` (where to look), `GET /openapi.json`, the interactive reference at /docs (public/docs), the favicon. */
export const docsRoutes = new Hono<AppEnv>();

let document: string | undefined;

docsRoutes.get("/openapi.json", (c) => {
  document ??= JSON.stringify(buildOpenApiDocument());
  return c.body(document, 200, { "Content-Type": "application/json" });
});

docsRoutes.get("/", (c) =>
  c.json({
    service: "qr-fallback",
    reference: "/docs/",
    openapi: "/openapi.json",
    console: "/console/",
    ...(configOf(c.env).demoEnabled ? { demo: "/demo/" } : {}),
  }),
);

for (const path of STATIC_PATHS) docsRoutes.get(path, fromStaticFiles);
