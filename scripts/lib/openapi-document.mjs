// The OpenAPI document built from the sources, without a server: src/docs/openapi.ts bundled with
// esbuild (as wrangler bundles it) and run in Node. Used by `npm run lint:openapi` and `npm run client`.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import { root } from "../wrangler.mjs";

/** The document `GET /openapi.json` serves. */
export async function buildOpenApiDocument() {
  const dir = mkdtempSync(path.join(tmpdir(), "qrf-openapi-"));
  try {
    const bundle = path.join(dir, "openapi.mjs");
    await build({
      entryPoints: [path.join(root, "src/docs/openapi.ts")],
      bundle: true,
      format: "esm",
      platform: "neutral",
      outfile: bundle,
      logLevel: "error",
      // The route modules the document names import Durable Object classes; none runs here.
      plugins: [
        {
          name: "workers-runtime",
          setup(b) {
            b.onResolve({ filter: /^cloudflare:workers$/ }, () => ({ path: "cloudflare:workers", namespace: "stub" }));
            b.onLoad({ filter: /.*/, namespace: "stub" }, () => ({ contents: "export class DurableObject {}" }));
          },
        },
      ],
    });
    return (await import(pathToFileURL(bundle).href)).buildOpenApiDocument();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
