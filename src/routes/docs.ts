import { Hono } from "hono";
import { configOf } from "../config";
import type { AppEnv } from "../http/context";
import { fromStaticFiles, STATIC_PATHS } from "./static-files";

/** `GET /` (where to look), and the static files: /openapi.json, the reference at /docs (public/docs), the favicon. */
export const docsRoutes = new Hono<AppEnv>();

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
