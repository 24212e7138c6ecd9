import type { Context } from "hono";
import type { AppEnv } from "../http/context";

/**
 * Paths whose files live in the static-assets Worker (public/; openapi.json is built into it before
 * a deploy); /demo/* is routed by the demo.
 */
export const STATIC_PATHS = ["/openapi.json", "/docs", "/docs/*", "/vendor/*", "/favicon.ico", "/favicon.svg"];

/** HTML pages and their files (docs, demo, console), as opposed to the JSON API. */
export const isPagePath = (path: string) => /^\/(docs|vendor|demo|console)(\/|$)/.test(path);

/**
 * Answers from the static-assets Worker (bound as ASSETS). Its responses are immutable, so they are
 * copied for the middleware to add headers; its own `_headers` (CSP and the like) are kept.
 */
export async function fromStaticFiles(c: Context<AppEnv>): Promise<Response> {
  const asset = await c.env.ASSETS.fetch(c.req.raw);
  return new Response(asset.body, asset);
}
