// Every Worker var with its default: the one home of each default. src/config.ts and the audit
// consumer read vars through `varOf`, the tools (odds, attack-sim, bench) through the same table, and
// docs/configuration.md is generated from it with each var's description (config/vars.mjs, kept out
// of the Workers' bundles) by `npm run config`. wrangler.toml and
// config/environments.toml set a var only where a deployment differs from its default.

/** @typedef {"qr-fallback" | "qr-fallback-audit-consumer"} WorkerName */
/** @typedef {{ default: string, worker: WorkerName | WorkerName[] }} ConfigVar */

/** @type {Record<string, ConfigVar>} */
export const CONFIG_VARS = {
  RP_URL: { default: "", worker: "qr-fallback" },
  TENANT_ID: { default: "local", worker: ["qr-fallback", "qr-fallback-audit-consumer"] },
  QR_FALLBACK_SECURITY_APP: { default: "QRFallbackSecurity", worker: ["qr-fallback", "qr-fallback-audit-consumer"] },
  QR_TTL_SECONDS: { default: "180", worker: "qr-fallback" },
  CLAIM_SHARDS: { default: "regional", worker: "qr-fallback" },
  CLAIM_LEGACY_UNTIL: { default: "", worker: "qr-fallback" },
  CLAIM_DEFAULT_REGION: { default: "enam", worker: "qr-fallback" },
  CODE_LENGTH: { default: "6", worker: "qr-fallback" },
  CODE_ALPHABET: { default: "abcdefghijklmnopqrstuvwxyz", worker: "qr-fallback" },
  DEMO_ENABLED: { default: "false", worker: "qr-fallback" },
  EVENT_HOOKS_ALLOW_LOCAL: { default: "false", worker: "qr-fallback" },
  EVENT_HOOK_RETRY_BASE_SECONDS: { default: "10", worker: "qr-fallback" },
  CORS_ALLOWED_ORIGINS: { default: "", worker: "qr-fallback" },
  GUESS_BUDGET_PER_MINUTE: { default: "300", worker: "qr-fallback" },
  GUESS_BUDGET_PER_DAY: { default: "5000", worker: "qr-fallback" },
  ATTACK_CODE_LENGTH: { default: "10", worker: "qr-fallback" },
  ATTACK_MIN_SECONDS: { default: "60", worker: "qr-fallback" },
  CLIENT_DAILY_FAILURE_CAP: { default: "100", worker: "qr-fallback" },
  NETWORK_DAILY_FAILURE_CAP: { default: "1000", worker: "qr-fallback" },
  LEDGER_BATCH_MS: { default: "250", worker: "qr-fallback" },
  AUDIT_BATCH_MS: { default: "20", worker: "qr-fallback" },
  AUDIT_RETRY_MAX_DELAY_SECONDS: { default: "60", worker: "qr-fallback-audit-consumer" },
  AUDIT_RETENTION_DAYS: { default: "400", worker: "qr-fallback-audit-consumer" },
};

/**
 * The value of var `name` in `vars` (a Worker's env, or a wrangler config's vars), else its default.
 * @param {object | undefined} vars
 * @param {string} name
 * @returns {string}
 */
export function varOf(vars, name) {
  if (!(name in CONFIG_VARS)) throw new Error(`${name} is not a var of common/config-vars.js`);
  const value = /** @type {Record<string, unknown> | undefined} */ (vars)?.[name];
  return value === undefined || value === null || value === "" ? CONFIG_VARS[name].default : String(value);
}
