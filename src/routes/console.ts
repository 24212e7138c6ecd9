import { Hono } from "hono";
import type { AppEnv } from "../http/context";
import { fromStaticFiles } from "./static-files";

/**
 * The operator console (public/console): a static page that holds no secret. An administrator
 * pastes an admin token, kept in the tab's memory only, and the page calls the API with it. Its
 * strict CSP (scripts and connections to this origin only) comes from public/_headers.
 */
export const consoleRoutes = new Hono<AppEnv>();
consoleRoutes.get("/console", (c) => c.redirect("/console/", 302));
consoleRoutes.get("/console/*", fromStaticFiles);
