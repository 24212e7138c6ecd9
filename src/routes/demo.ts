import { type Context, Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { createToken } from "../auth/tokens";
import { configOf } from "../config";
import type { AppEnv } from "../http/context";
import { AppError, ErrorCode } from "../http/errors";
import { limitBody, requireJsonBody } from "../http/middleware";
import { fromStaticFiles } from "./static-files";

/**
 * The demo (`/demo`, only with DEMO_ENABLED=true, which the configuration accepts only with a
 * loopback RP_URL): a page showing the whole flow against the real endpoints. The page never holds
 * a token: its two helper calls are forwarded here to the real create and search endpoints with a
 * short-lived token of the demo application only (not admin), and get the API's body limit and JSON
 * check.
 */
export const DEMO_APP_ID = "DemoApplication";
const DEMO_TOKEN_TTL_SECONDS = 86_400;
const DEMO_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

type Dispatch = (request: Request, env: Env, ctx: Context<AppEnv>["executionCtx"]) => Response | Promise<Response>;

/** The isolate's demo token, minted again an hour before it expires (a dev server may run for days). */
let demoToken: { token: Promise<string>; renewAt: number } | undefined;
function tokenFor(env: Env): Promise<string> {
  if (!demoToken || demoToken.renewAt <= Date.now()) {
    const token = createToken(env.QR_KV, env.CONTROL_DB, {
      rpAppId: DEMO_APP_ID,
      scopes: ["qr:create", "audit:read"],
      label: "demo page (server-side, ephemeral)",
      expiresInSeconds: DEMO_TOKEN_TTL_SECONDS,
    }).then((t) => t.token);
    demoToken = { token, renewAt: Date.now() + (DEMO_TOKEN_TTL_SECONDS - 3600) * 1000 };
    token.catch(() => {
      demoToken = undefined;
    });
  }
  return demoToken.token;
}

const demoEnabled = createMiddleware<AppEnv>(async (c, next) => {
  if (!configOf(c.env).demoEnabled) throw new AppError(ErrorCode.NOT_FOUND, "No such endpoint.");
  await next();
  c.res.headers.set("Content-Security-Policy", DEMO_CSP);
});

export function demoRoutes(dispatch: Dispatch): Hono<AppEnv> {
  const demo = new Hono<AppEnv>();
  demo.use("/demo", demoEnabled);
  demo.use("/demo/*", demoEnabled);

  /** Forwards to a real endpoint as the demo app, keeping the caller's address for the rate limits. */
  const forward = async (c: Context<AppEnv>, path: string, init: RequestInit) => {
    const headers = new Headers(init.headers);
    headers.set("Authorization", `Bearer ${await tokenFor(c.env)}`);
    const ip = c.req.raw.headers.get("cf-connecting-ip");
    if (ip) headers.set("CF-Connecting-IP", ip);
    const ua = c.req.raw.headers.get("user-agent");
    if (ua) headers.set("User-Agent", ua);
    const res = await dispatch(new Request(new URL(path, c.req.raw.url), { ...init, headers }), c.env, c.executionCtx);
    // The inner request's id is its audit events' traceId: the page follows its code's use with it.
    const trace = res.headers.get("X-Request-Id") ?? "";
    return new Response(res.body, {
      status: res.status,
      headers: { "Content-Type": "application/json", "X-Demo-Trace-Id": trace },
    });
  };

  demo.post("/demo/api/qr", limitBody, requireJsonBody, async (c) => {
    const body = (await c.req.json()) as { kind?: string; includeQRFallbackCode?: boolean };
    const options = { includeQRFallbackCode: body.includeQRFallbackCode === true, includeQRImage: true };
    const [path, request] =
      body.kind === "authentication"
        ? [
            "/rp/api/oob/qr/client/authentication/requests",
            { appId: DEMO_APP_ID, namedUser: "demo-user", machine: "WEB", actionId: "demo", ...options },
          ]
        : ["/rp/versioned/client/qr/create", { rpAppId: DEMO_APP_ID, username: "demo-user", ...options }];
    return forward(c, path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(request),
    });
  });

  /** The last ten minutes of the demo application's trail (its token reads nothing else). */
  demo.get("/demo/api/trail", async (c) => {
    const end = Date.now() + 1;
    const qs = new URLSearchParams({
      rpAppId: DEMO_APP_ID,
      startTSUTC: String(end - 600_000),
      endTSUTC: String(end),
      pageSize: "1000",
      sortDir: "desc",
      orderBy: "eventTimeInUTC",
    });
    const res = await forward(c, `/cc/api/versioned/audit/search?${qs}`, { method: "GET" });
    if (!res.ok) return res;
    const page = (await res.json()) as { data: unknown[] };
    return c.json(page.data.slice(0, 50));
  });

  // The page itself: static files, served through the Worker so the flag and the CSP apply.
  demo.get("/demo", (c) => c.redirect("/demo/", 302));
  demo.get("/demo/*", fromStaticFiles);
  return demo;
}
