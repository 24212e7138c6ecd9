import { CLAIM_SHARDING, parseClaimSharding } from "../common/claim-shards.js";
import { varOf } from "../common/config-vars.js";
import { log } from "../common/log";
import { isRegion, type Region } from "../common/regions.js";
import { AppError, ErrorCode } from "./http/errors";

/** Runtime configuration, read from Worker vars and secrets and checked once per isolate. */
export interface Config {
  rpUrl: string;
  tenantId: string;
  /** The audit trail that events of no RP application go to (QR_FALLBACK_SECURITY_APP). */
  securityAppId: string;
  qrTtlSeconds: number;
  codeLength: number;
  codeAlphabet: string;
  corsAllowedOrigins: string[];
  guessing: GuessingConfig;
  /** A request's audit event waits this many ms for others to share its queue send (AUDIT_BATCH_MS). */
  auditBatchMs: number;
  serverSecret: string;
  /** Event hooks: local (http, localhost) endpoints allowed only under npm run dev and in tests. */
  eventHooks: { allowLocal: boolean; retryBaseSeconds: number };
  /** The /demo page and its helper API; on in `npm run dev`, off in the shipped wrangler.toml. */
  demoEnabled: boolean;
  /** Where codes are claimed (common/claim-shards.js, common/regions.js). */
  claims: {
    /** The region of a create with no location (CLAIM_DEFAULT_REGION). */
    defaultRegion: Region;
    /** Until this epoch ms, codes are also claimed at the 0.7 shards (CLAIM_LEGACY_UNTIL; 0: never). */
    legacyUntil: number;
  };
}

/** The open lookup's defences (docs/security-model.md): the guess budget, attack mode, per-client caps. */
export interface GuessingConfig {
  /** Length of the codes issued while attack mode is on (same alphabet). */
  attackCodeLength: number;
  /** Wrong normal-length codes the whole deployment may evaluate in any minute and in a day. */
  budget: { perMinute: number; perDay: number };
  /** Attack mode lasts at least this long; then while the attack goes on (src/security/guess-budget.ts). */
  minAttackSeconds: number;
  /** Failed lookups one client (IPv4 address, IPv6 /64) and one network (/24, /48) may make in a day. */
  clientDailyFailures: number;
  networkDailyFailures: number;
  /** Failed and refused lookups go to their network's ledger at most once per this many ms per isolate. */
  ledgerBatchMs: number;
}

/** Codes of the normal length (guess budget, attack mode), and the long ones issued during attack mode (neither). */
export type CodeClass = "normal" | "long";

export const MIN_CODE_ENTROPY_BITS = 20;
/** Attack-mode codes must put a botnet's whole yearly reach out of play (docs/security-model.md). */
export const MIN_ATTACK_CODE_ENTROPY_BITS = 40;
/** Workers KV refuses an expirationTtl under 60 seconds. */
export const MIN_QR_TTL_SECONDS = 60;
/** Attack mode then ends within about 100 s of the attack stopping (10 s of report, a minute of pressure, one 30 s check). */
export const MAX_ATTACK_MIN_SECONDS = 90;
const MIN_SECRET_LENGTH = 32;

export class ConfigError extends Error {}

/** A Worker's env or a set of vars: each var it lacks takes its default (common/config-vars.js). */
export type ConfigVars = Env | Readonly<Record<string, unknown>>;

function intVar(env: ConfigVars, name: string): number {
  const n = Number(varOf(env, name));
  if (!Number.isSafeInteger(n) || n <= 0) throw new ConfigError(`${name} must be a positive integer`);
  return n;
}

/** A delay in ms from 0 (none) to 5000. */
function msVar(env: ConfigVars, name: string): number {
  const n = Number(varOf(env, name));
  if (!Number.isSafeInteger(n) || n < 0 || n > 5_000)
    throw new ConfigError(`${name} must be an integer from 0 to 5000`);
  return n;
}

export function codeEntropyBits(length: number, alphabetSize: number): number {
  return length * Math.log2(alphabetSize);
}

/** Throws ConfigError with a message an operator can act on; never includes secret values. */
export function parseConfig(env: ConfigVars): Config {
  const codeLength = intVar(env, "CODE_LENGTH");
  const codeAlphabet = varOf(env, "CODE_ALPHABET");
  const chars = [...codeAlphabet];
  if (new Set(chars).size !== chars.length) throw new ConfigError("CODE_ALPHABET has repeated characters");
  // Input is case-folded and stripped of spaces and dashes before lookup, so the alphabet must survive that.
  if (!/^[a-z0-9]+$/.test(codeAlphabet)) throw new ConfigError("CODE_ALPHABET may hold only a-z and 0-9");
  if (chars.length < 2 || chars.length > 256) throw new ConfigError("CODE_ALPHABET must have 2..256 characters");
  const bits = codeEntropyBits(codeLength, chars.length);
  if (bits < MIN_CODE_ENTROPY_BITS) {
    throw new ConfigError(
      `activation codes of ${codeLength} characters from ${chars.length} have ${bits.toFixed(1)} bits of entropy; at least ${MIN_CODE_ENTROPY_BITS} are required`,
    );
  }
  const attackCodeLength = intVar(env, "ATTACK_CODE_LENGTH");
  if (attackCodeLength <= codeLength) throw new ConfigError("ATTACK_CODE_LENGTH must be greater than CODE_LENGTH");
  if (codeEntropyBits(attackCodeLength, chars.length) < MIN_ATTACK_CODE_ENTROPY_BITS) {
    throw new ConfigError(`attack-mode codes need at least ${MIN_ATTACK_CODE_ENTROPY_BITS} bits of entropy`);
  }
  const minAttackSeconds = intVar(env, "ATTACK_MIN_SECONDS");
  if (minAttackSeconds > MAX_ATTACK_MIN_SECONDS) {
    throw new ConfigError(
      `ATTACK_MIN_SECONDS must be at most ${MAX_ATTACK_MIN_SECONDS}: attack mode must end soon after an attack`,
    );
  }
  const qrTtlSeconds = intVar(env, "QR_TTL_SECONDS");
  if (qrTtlSeconds < MIN_QR_TTL_SECONDS) throw new ConfigError(`QR_TTL_SECONDS must be at least ${MIN_QR_TTL_SECONDS}`);
  const serverSecret = String((env as { SERVER_SECRET?: unknown }).SERVER_SECRET ?? "");
  if (serverSecret.length < MIN_SECRET_LENGTH) {
    throw new ConfigError(`SERVER_SECRET is missing or shorter than ${MIN_SECRET_LENGTH} characters`);
  }
  if (parseClaimSharding(varOf(env, "CLAIM_SHARDS")) === null) {
    throw new ConfigError(`CLAIM_SHARDS must be "${CLAIM_SHARDING}" (npm run deploy moves a "64" deployment)`);
  }
  const defaultRegion = varOf(env, "CLAIM_DEFAULT_REGION");
  if (!isRegion(defaultRegion)) throw new ConfigError("CLAIM_DEFAULT_REGION must be a Durable Object location hint");
  const legacyUntil = Number(varOf(env, "CLAIM_LEGACY_UNTIL") || "0");
  if (!Number.isSafeInteger(legacyUntil) || legacyUntil < 0) {
    throw new ConfigError("CLAIM_LEGACY_UNTIL must be epoch milliseconds");
  }
  const rpUrl = parseRpUrl(varOf(env, "RP_URL"));
  // The demo creates codes for anyone who loads the page: never where phones would use them.
  if (varOf(env, "DEMO_ENABLED") === "true" && !isLoopback(new URL(rpUrl).hostname)) {
    throw new ConfigError("DEMO_ENABLED is for local use only: it needs a localhost RP_URL");
  }
  return {
    rpUrl,
    tenantId: varOf(env, "TENANT_ID"),
    securityAppId: varOf(env, "QR_FALLBACK_SECURITY_APP"),
    qrTtlSeconds,
    codeLength,
    codeAlphabet,
    corsAllowedOrigins: varOf(env, "CORS_ALLOWED_ORIGINS")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
    guessing: {
      attackCodeLength,
      budget: {
        perMinute: intVar(env, "GUESS_BUDGET_PER_MINUTE"),
        perDay: intVar(env, "GUESS_BUDGET_PER_DAY"),
      },
      minAttackSeconds,
      clientDailyFailures: intVar(env, "CLIENT_DAILY_FAILURE_CAP"),
      networkDailyFailures: intVar(env, "NETWORK_DAILY_FAILURE_CAP"),
      ledgerBatchMs: msVar(env, "LEDGER_BATCH_MS"),
    },
    auditBatchMs: msVar(env, "AUDIT_BATCH_MS"),
    serverSecret,
    eventHooks: {
      allowLocal: varOf(env, "EVENT_HOOKS_ALLOW_LOCAL") === "true",
      retryBaseSeconds: intVar(env, "EVENT_HOOK_RETRY_BASE_SECONDS"),
    },
    demoEnabled: varOf(env, "DEMO_ENABLED") === "true",
    claims: { defaultRegion: defaultRegion as Region, legacyUntil },
  };
}

/**
 * RP_URL goes into every QR payload: it must be set, and https unless it is a loopback address (npm
 * run dev). A deployment that forgot it refuses to serve rather than send phones to localhost.
 */
export function parseRpUrl(raw: string | undefined): string {
  if (!raw) throw new ConfigError("RP_URL is not set (the public https URL of this deployment)");
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError("RP_URL is not a URL");
  }
  if (isLoopback(url.hostname)) {
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new ConfigError("RP_URL must be http(s)");
  } else if (url.protocol !== "https:") {
    throw new ConfigError("RP_URL must be https");
  }
  return raw.replace(/\/+$/, "");
}

export const isLoopback = (hostname: string) =>
  hostname === "localhost" || hostname === "127.0.0.1" || hostname === "[::1]";

const cache = new WeakMap<Env, Config>();

/** Config for this env, parsed once; a bad configuration refuses every request with 503. */
export function configOf(env: Env): Config {
  let config = cache.get(env);
  if (!config) {
    try {
      config = parseConfig(env);
    } catch (err) {
      if (err instanceof ConfigError) {
        log("error", "invalid configuration", { detail: err.message });
        throw new AppError(ErrorCode.SERVICE_MISCONFIGURED, "The service is not configured correctly.");
      }
      throw err;
    }
    cache.set(env, config);
  }
  return config;
}
