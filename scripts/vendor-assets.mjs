#!/usr/bin/env node
// Copies the Swagger UI files from node_modules into public/vendor (git-ignored), so /docs works
// offline and behind a strict CSP. Run by dev, deploy, the bundle check and the bench.
import { copyFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { root } from "./wrangler.mjs";

const from = path.dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
const to = path.join(root, "public", "vendor", "swagger-ui");
mkdirSync(to, { recursive: true });
for (const file of ["swagger-ui-bundle.js", "swagger-ui.css"]) copyFileSync(path.join(from, file), path.join(to, file));
