import { AppError, ErrorCode } from "./http/errors";
import { log } from "./log";

/** Runtime configuration, read from Worker vars and secrets and checked once per isolate. */
export interface Config {
  rpUrl: string;
  tenantId: string;
  qrTtlSeconds: number;
  codeLength: number;
  codeAlphabet: string;
  corsAllowedOrigins: string[];
  lockdown: { failureBudget: number; windowSeconds: number; cooldownSeconds: number };
  serverSecret: string;
  /** The /demo page and its helper API; on in `npm run dev`, off in the shipped wrangler.toml. */
  demoEnabled: boolean;
}

export const MIN_CODE_ENTROPY_BITS = 20;
/** Workers KV refuses an expirationTtl under 60 seconds. */
export const MIN_QR_TTL_SECONDS = 60;
const MIN_SECRET_LENGTH = 32;

export class ConfigError extends Error {}

function intVar(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n <= 0) throw new ConfigError(`${name} must be a positive integer`);
  return n;
}

export function codeEntropyBits(length: number, alphabetSize: number): number {
  return length * Math.log2(alphabetSize);
}

/** Throws ConfigError with a message an operator can act on; never includes secret values. */
export function parseConfig(env: Env): Config {
  const codeLength = intVar("CODE_LENGTH", env.CODE_LENGTH, 6);
  const codeAlphabet = env.CODE_ALPHABET || "abcdefghijklmnopqrstuvwxyz";
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
  const qrTtlSeconds = intVar("QR_TTL_SECONDS", env.QR_TTL_SECONDS, 180);
  if (qrTtlSeconds < MIN_QR_TTL_SECONDS) throw new ConfigError(`QR_TTL_SECONDS must be at least ${MIN_QR_TTL_SECONDS}`);
  const serverSecret = env.SERVER_SECRET ?? "";
  if (serverSecret.length < MIN_SECRET_LENGTH) {
    throw new ConfigError(`SERVER_SECRET is missing or shorter than ${MIN_SECRET_LENGTH} characters`);
  }
  return {
    rpUrl: env.RP_URL || "http://localhost:8787",
    tenantId: env.TENANT_ID || "default",
    qrTtlSeconds,
    codeLength,
    codeAlphabet,
    corsAllowedOrigins: (env.CORS_ALLOWED_ORIGINS ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
    lockdown: {
      failureBudget: intVar("LOCKDOWN_FAILURE_BUDGET", env.LOCKDOWN_FAILURE_BUDGET, 300),
      windowSeconds: intVar("LOCKDOWN_WINDOW_SECONDS", env.LOCKDOWN_WINDOW_SECONDS, 60),
      cooldownSeconds: intVar("LOCKDOWN_COOLDOWN_SECONDS", env.LOCKDOWN_COOLDOWN_SECONDS, 300),
    },
    serverSecret,
    demoEnabled: env.DEMO_ENABLED === "true",
  };
}

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
