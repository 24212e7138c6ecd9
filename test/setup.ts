import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";

// Storage is isolated per test file; the schema is applied to each file's D1 (idempotent).
await applyD1Migrations(env.AUDIT_DB, env.TEST_MIGRATIONS);
await applyD1Migrations(env.CONTROL_DB, env.TEST_CONTROL_MIGRATIONS);
