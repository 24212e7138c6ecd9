// Every Worker var with its default: the one home of each default. src/config.ts and the audit
// consumer read vars through `varOf`, the tools (odds, attack-sim, bench) through the same table, and
// docs/configuration.md is generated from it (`npm run config`). wrangler.toml and
// config/environments.toml set a var only where a deployment differs from its default.

/** @typedef {{ default: string, worker: "qr-fallback" | "qr-fallback-audit-consumer", about: string }} ConfigVar */

/** @type {Record<string, ConfigVar>} */
export const CONFIG_VARS = {
  RP_URL: {
    default: "",
    worker: "qr-fallback",
    about:
      "Public https URL of the deployment, written into every QR payload as rpUrl. Unset, the Worker answers 503 SERVICE_MISCONFIGURED and `npm run deploy` refuses; `npm run dev` passes its own.",
  },
  TENANT_ID: { default: "local", worker: "qr-fallback", about: "Tenant id written into every audit event." },
  QR_FALLBACK_SECURITY_APP: {
    default: "QRFallbackSecurity",
    worker: "qr-fallback",
    about:
      "The audit trail that events of no RP application go to (unknown-code lookups, refusals, attack mode); `GET /cc/api/application` always lists it.",
  },
  QR_TTL_SECONDS: {
    default: "180",
    worker: "qr-fallback",
    about: "Lifetime of a QR code and of its fallback payload, in seconds (at least 60, KV's minimum).",
  },
  CLAIM_SHARDS: {
    default: "64",
    worker: "qr-fallback",
    about:
      'How code claims are sharded: "64" only since 0.6.0; `npm run deploy` refuses while a live version runs another (common/claim-shards.js).',
  },
  CODE_LENGTH: {
    default: "6",
    worker: "qr-fallback",
    about: "Length of activation codes; length × log2(alphabet size) must be at least 20 bits.",
  },
  CODE_ALPHABET: {
    default: "abcdefghijklmnopqrstuvwxyz",
    worker: "qr-fallback",
    about: "Characters of activation codes (a-z and 0-9 only: input is case-folded).",
  },
  DEMO_ENABLED: {
    default: "false",
    worker: "qr-fallback",
    about: "The /demo page and its helper API; `npm run dev` turns it on. Needs a localhost RP_URL.",
  },
  EVENT_HOOKS_ALLOW_LOCAL: {
    default: "false",
    worker: "qr-fallback",
    about: "Lets event hooks point at http://localhost (`npm run dev` and the tests only).",
  },
  EVENT_HOOK_RETRY_BASE_SECONDS: {
    default: "10",
    worker: "qr-fallback",
    about: "First retry delay of a failed hook delivery; each retry doubles it.",
  },
  CORS_ALLOWED_ORIGINS: {
    default: "",
    worker: "qr-fallback",
    about: "Comma-separated browser origins allowed by CORS; empty, CORS is closed.",
  },
  GUESS_BUDGET_PER_MINUTE: {
    default: "300",
    worker: "qr-fallback",
    about: "Wrong normal-length codes the whole deployment may evaluate in any minute; past it, attack mode.",
  },
  GUESS_BUDGET_PER_DAY: {
    default: "5000",
    worker: "qr-fallback",
    about: "The same in a UTC day.",
  },
  ATTACK_CODE_LENGTH: {
    default: "10",
    worker: "qr-fallback",
    about: "Length of the codes issued in attack mode (at least 40 bits).",
  },
  ATTACK_MIN_SECONDS: {
    default: "60",
    worker: "qr-fallback",
    about:
      "Attack mode lasts at least this long (at most 90), then while guesses keep coming at half the minute budget.",
  },
  CLIENT_DAILY_FAILURE_CAP: {
    default: "100",
    worker: "qr-fallback",
    about: "Failed lookups a day per client (IPv4 address, IPv6 /64).",
  },
  NETWORK_DAILY_FAILURE_CAP: {
    default: "1000",
    worker: "qr-fallback",
    about: "Failed lookups a day per network (IPv4 /24, IPv6 /48).",
  },
  LEDGER_BATCH_MS: {
    default: "250",
    worker: "qr-fallback",
    about: "Failed lookups reach their network's ledger at most once per this many ms per isolate (0 to 5000).",
  },
  AUDIT_BATCH_MS: {
    default: "20",
    worker: "qr-fallback",
    about: "An audit event waits this many ms in isolate memory to share a queue send (0 to 5000).",
  },
  AUDIT_RETENTION_DAYS: {
    default: "400",
    worker: "qr-fallback-audit-consumer",
    about: "Days an event stays in D1; older days are archived to R2 (gzip NDJSON) and pruned hourly.",
  },
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
