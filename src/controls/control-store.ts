/**
 * The control database (CONTROL_DB, migrations/): the API tokens' registry and the per-application
 * settings. Every statement on it lives here. D1 without read replication sends every query to the
 * primary, so what is read here is what was last written, wherever the Worker runs.
 */
import {
  fromTokenRow,
  REVOKE_TOKEN,
  SELECT_REVOKED_IDS,
  SELECT_TOKEN,
  SELECT_TOKENS,
  tokenRow,
} from "../../common/api-tokens.js";
import type { TokenRecord } from "../auth/token-record";

/** What an administrator set for one application; null = the deployment's default. */
export interface StoredSettings {
  enabled: boolean | null;
  qrTtlSeconds: number | null;
  rpUrl: string | null;
}

export interface SettingsRow extends StoredSettings {
  appId: string;
  updatedAt: number;
  updatedBy: string;
}

interface SettingsSqlRow {
  app_id: string;
  enabled: number | null;
  qr_ttl_seconds: number | null;
  rp_url: string | null;
  updated_at: number;
  updated_by: string;
}

const fromSettingsRow = (r: SettingsSqlRow): SettingsRow => ({
  appId: r.app_id,
  enabled: r.enabled === null ? null : r.enabled === 1,
  qrTtlSeconds: r.qr_ttl_seconds,
  rpUrl: r.rp_url,
  updatedAt: r.updated_at,
  updatedBy: r.updated_by,
});

const SELECT_SETTINGS = "SELECT app_id, enabled, qr_ttl_seconds, rp_url, updated_at, updated_by FROM app_settings";

/** Everything an isolate needs to authorize and configure requests, in one round trip. */
export async function readControls(db: D1Database, now: number) {
  const [settings, revoked] = await db.batch([db.prepare(SELECT_SETTINGS), db.prepare(SELECT_REVOKED_IDS).bind(now)]);
  return {
    settings: (settings.results as unknown as SettingsSqlRow[]).map(fromSettingsRow),
    revokedTokenIds: (revoked.results as { id: string }[]).map((r) => r.id),
  };
}

export async function getSettings(db: D1Database, appId: string): Promise<SettingsRow | null> {
  const row = await db.prepare(`${SELECT_SETTINGS} WHERE app_id = ?1`).bind(appId).first<SettingsSqlRow>();
  return row ? fromSettingsRow(row) : null;
}

export async function listSettings(db: D1Database): Promise<SettingsRow[]> {
  const { results } = await db.prepare(`${SELECT_SETTINGS} ORDER BY app_id`).all<SettingsSqlRow>();
  return results.map(fromSettingsRow);
}

/**
 * The statement that changes an application's settings from `before` (what the change was computed
 * and audited against) to `row`: it changes nothing if another change came in between (compare and
 * set), so an audit event's "before" is always what was replaced.
 */
export function putSettingsStatement(
  db: D1Database,
  row: SettingsRow,
  before?: SettingsRow | null,
): D1PreparedStatement {
  const values = [
    row.appId,
    row.enabled === null ? null : row.enabled ? 1 : 0,
    row.qrTtlSeconds,
    row.rpUrl,
    row.updatedAt,
    row.updatedBy,
  ];
  if (before === undefined) {
    return db
      .prepare(
        `INSERT INTO app_settings (app_id, enabled, qr_ttl_seconds, rp_url, updated_at, updated_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (app_id) DO UPDATE SET enabled = ?2, qr_ttl_seconds = ?3, rp_url = ?4, updated_at = ?5, updated_by = ?6`,
      )
      .bind(...values);
  }
  if (before === null) {
    return db
      .prepare(
        `INSERT INTO app_settings (app_id, enabled, qr_ttl_seconds, rp_url, updated_at, updated_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (app_id) DO NOTHING`,
      )
      .bind(...values);
  }
  return db
    .prepare(
      `UPDATE app_settings SET enabled = ?2, qr_ttl_seconds = ?3, rp_url = ?4, updated_at = ?5, updated_by = ?6
       WHERE app_id = ?1 AND enabled IS ?7 AND qr_ttl_seconds IS ?8 AND rp_url IS ?9`,
    )
    .bind(...values, before.enabled === null ? null : before.enabled ? 1 : 0, before.qrTtlSeconds, before.rpUrl);
}

// --- tokens (the SQL and the row mapping are in common/api-tokens.js, shared with the CLI) ---------

type TokenSqlRow = Parameters<typeof fromTokenRow>[0];

/** Every registered token, revoked ones too (with `revokedAt`), newest first. */
export async function listRegisteredTokens(db: D1Database) {
  const { results } = await db.prepare(`${SELECT_TOKENS} ORDER BY created_at DESC, id`).all<TokenSqlRow>();
  return results.map(fromTokenRow);
}

export async function getRegisteredToken(db: D1Database, id: string) {
  const row = await db.prepare(SELECT_TOKEN).bind(id).first<TokenSqlRow>();
  return row ? fromTokenRow(row) : null;
}

/** Marks a registered token revoked. */
export function markRevokedStatement(db: D1Database, t: TokenRecord, now: number): D1PreparedStatement {
  return db.prepare(REVOKE_TOKEN).bind(...tokenRow(t), now);
}
