#!/usr/bin/env node
// `npm run lint:openapi`: builds the OpenAPI document from the sources (scripts/lib/openapi-document.mjs)
// and lints it with Redocly's recommended rules: no error, at most one warning.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { buildOpenApiDocument } from "./lib/openapi-document.mjs";

const MAX_WARNINGS = 1;
const dir = mkdtempSync(path.join(tmpdir(), "qrf-openapi-"));
try {
  const document = path.join(dir, "openapi.json");
  writeFileSync(document, JSON.stringify(await buildOpenApiDocument(), null, 2));
  const redocly = createRequire(import.meta.url).resolve("@redocly/cli/bin/cli.js");
  const lint = spawnSync(
    process.execPath,
    [redocly, "lint", document, "--extends", "recommended", "--format", "json"],
    {
      encoding: "utf8",
      env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
    },
  );
  const report = JSON.parse(lint.stdout.slice(lint.stdout.indexOf("{")));
  const problems = report.problems ?? [];
  for (const p of problems) {
    console.log(`${p.severity.padEnd(7)} ${p.ruleId}: ${p.message} (${p.location?.[0]?.pointer ?? ""})`);
  }
  const errors = problems.filter((p) => p.severity === "error").length;
  const warnings = problems.filter((p) => p.severity === "warn").length;
  const ok = errors === 0 && warnings <= MAX_WARNINGS;
  console.log(
    `${ok ? "ok  " : "FAIL"} OpenAPI document: ${errors} errors, ${warnings} warnings (at most ${MAX_WARNINGS})`,
  );
  process.exitCode = ok ? 0 : 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
