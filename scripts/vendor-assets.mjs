#!/usr/bin/env node
// Copies the Swagger UI files from node_modules into public/vendor, so /docs works offline and behind a
// strict CSP, and writes the OpenAPI document to public/openapi.json, which the static-assets Worker
// serves (both git-ignored). Run by dev, deploy, the bundle check, the bench and the tests.
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { buildOpenApiDocument } from "./lib/openapi-document.mjs";
import { root } from "./wrangler.mjs";

const from = path.dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
const to = path.join(root, "public", "vendor", "swagger-ui");
mkdirSync(to, { recursive: true });
for (const file of ["swagger-ui-bundle.js", "swagger-ui.css"]) copyFileSync(path.join(from, file), path.join(to, file));
writeFileSync(path.join(root, "public", "openapi.json"), JSON.stringify(await buildOpenApiDocument()));
