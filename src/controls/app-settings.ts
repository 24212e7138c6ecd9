/** Per-application QR fallback settings (SPEC §11): stored choices over the deployment's defaults. */
import * as z from "zod/mini";
import type { QueuedAuditEvent } from "../../common/audit-contract";
import { MAX_APP_QR_TTL_SECONDS } from "../../common/qr-lifetime.js";
import { type Config, isLoopback, MIN_QR_TTL_SECONDS } from "../config";
import { AppError, ErrorCode } from "../http/errors";
import { eventKept, keepEventStatement } from "./change-events";
import { getSettings, putSettingsStatement, type SettingsRow, type StoredSettings } from "./control-store";

/** PUT body: every field optional; null puts a field back to the deployment's default. */
export const settingsUpdateSchema = z.strictObject({
  enabled: z.optional(z.nullable(z.boolean())),
  qrTtlSeconds: z.optional(z.nullable(z.int().check(z.minimum(MIN_QR_TTL_SECONDS), z.maximum(MAX_APP_QR_TTL_SECONDS)))),
  rpUrl: z.optional(z.nullable(z.string().check(z.minLength(1), z.maxLength(512)))),
});
export type SettingsUpdate = z.infer<typeof settingsUpdateSchema>;

const storedSchema = z.object({
  enabled: z.nullable(z.boolean()),
  qrTtlSeconds: z.nullable(z.int()),
  rpUrl: z.nullable(z.string()),
});

export const settingsResponseSchema = z.object({
  appId: z.string(),
  /** What applies now: the stored choice, or the deployment's default. */
  enabled: z.boolean(),
  qrTtlSeconds: z.int(),
  rpUrl: z.string(),
  /** What an administrator set (null = the default applies). */
  stored: storedSchema,
  updatedAt: z.nullable(z.int()),
  updatedBy: z.nullable(z.string()),
});
export type SettingsResponse = z.infer<typeof settingsResponseSchema>;

export interface EffectiveSettings {
  enabled: boolean;
  qrTtlSeconds: number;
  rpUrl: string;
}

const UNSET: StoredSettings = { enabled: null, qrTtlSeconds: null, rpUrl: null };

export function effectiveSettings(config: Config, stored: StoredSettings | undefined): EffectiveSettings {
  return {
    enabled: stored?.enabled ?? true,
    qrTtlSeconds: stored?.qrTtlSeconds ?? config.qrTtlSeconds,
    rpUrl: stored?.rpUrl ?? config.rpUrl,
  };
}

function describe(config: Config, appId: string, row: SettingsRow | null): SettingsResponse {
  const stored = row ? { enabled: row.enabled, qrTtlSeconds: row.qrTtlSeconds, rpUrl: row.rpUrl } : UNSET;
  return {
    appId,
    ...effectiveSettings(config, stored),
    stored,
    updatedAt: row?.updatedAt ?? null,
    updatedBy: row?.updatedBy ?? null,
  };
}

/**
 * A per-application base URL must be https (http only to this machine, when the deployment is local
 * too), without credentials, query or fragment; it is stored as the URL parser writes it. Backslashes
 * and control characters (raw or percent-encoded) are refused: parsers disagree on them (WHATWG URL
 * reads `\` as `/` in https URLs, others do not), so a phone might not go where the check looked.
 */
function checkRpUrl(config: Config, raw: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\\\u0000-\u001f\u007f]|%(?:[01][0-9a-f]|7f)/i.test(raw)) {
    throw new AppError(ErrorCode.INVALID_REQUEST, "The request is not valid (rpUrl: backslash or control character).");
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AppError(ErrorCode.INVALID_REQUEST, "The request is not valid (rpUrl: not a URL).");
  }
  const local = isLoopback(url.hostname) && isLoopback(new URL(config.rpUrl).hostname);
  if (url.protocol !== "https:" && !(local && url.protocol === "http:")) {
    throw new AppError(ErrorCode.INVALID_REQUEST, "The request is not valid (rpUrl: must be https).");
  }
  if (url.username || url.password || url.search || url.hash || raw.includes("@")) {
    throw new AppError(ErrorCode.INVALID_REQUEST, "The request is not valid (rpUrl: a base URL only).");
  }
  return url.href.replace(/\/+$/, "");
}

export async function readAppSettings(db: D1Database, config: Config, appId: string): Promise<SettingsResponse> {
  return describe(config, appId, await getSettings(db, appId));
}

/**
 * Applies an update; returns the settings before and after (both as stored), or `changed: false`
 * when the update changes nothing (no write, no audit event).
 */
/** Attempts of a settings change overtaken by concurrent ones before it gives up (503). */
const MAX_SETTINGS_ATTEMPTS = 5;

export async function updateAppSettings(
  db: D1Database,
  config: Config,
  appId: string,
  update: SettingsUpdate,
  actorTokenId: string,
  /** The change's audit event, stored in the same transaction as the change (control/change-events.ts). */
  eventOf: (before: StoredSettings, after: StoredSettings) => QueuedAuditEvent,
) {
  // Compare and set: a change that another one overtook is computed again from what is stored now.
  for (let attempt = 0; attempt < MAX_SETTINGS_ATTEMPTS; attempt++) {
    const row = await getSettings(db, appId);
    const before: StoredSettings = row
      ? { enabled: row.enabled, qrTtlSeconds: row.qrTtlSeconds, rpUrl: row.rpUrl }
      : { ...UNSET };
    const after: StoredSettings = {
      enabled: update.enabled === undefined ? before.enabled : update.enabled,
      qrTtlSeconds: update.qrTtlSeconds === undefined ? before.qrTtlSeconds : update.qrTtlSeconds,
      rpUrl:
        update.rpUrl === undefined ? before.rpUrl : update.rpUrl === null ? null : checkRpUrl(config, update.rpUrl),
    };
    const changed = (Object.keys(after) as (keyof StoredSettings)[]).some((k) => after[k] !== before[k]);
    if (!changed) return { changed: false as const, settings: describe(config, appId, row), before, after };
    const next: SettingsRow = { appId, ...after, updatedAt: Date.now(), updatedBy: actorTokenId };
    const event = eventOf(before, after);
    const [written, kept] = await db.batch([putSettingsStatement(db, next, row), keepEventStatement(db, event)]);
    if (written.meta.changes > 0) {
      return {
        changed: true as const,
        settings: describe(config, appId, next),
        before,
        after,
        event: eventKept(kept) ? event : null,
      };
    }
  }
  throw new AppError(ErrorCode.CONTROLS_UNAVAILABLE, "The settings kept changing under this request; try again.");
}
