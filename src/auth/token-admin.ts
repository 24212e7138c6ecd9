/** Listing and revoking API tokens: the registry (CONTROL_DB) decides; KV holds the records requests read. */
import * as z from "zod/mini";
import type { QueuedAuditEvent } from "../../common/audit-contract";
import { eventKept, keepEventStatement } from "../controls/change-events";
import { getRegisteredToken, listRegisteredTokens, markRevokedStatement } from "../controls/control-store";
import { rpAppIdSchema } from "../http/app-id";
import { DEFAULT_APP_SCOPES, SCOPES, TOKEN_ID_LENGTH, type TokenRecord } from "./token-record";
import { deleteTokenRecord, findTokenHashById } from "./token-store";

const appId = rpAppIdSchema;

export const tokenRequestSchema = z
  .strictObject({
    rpAppId: z.optional(appId),
    scopes: z._default(z.array(z.enum(SCOPES)).check(z.minLength(1), z.maxLength(3)), DEFAULT_APP_SCOPES),
    label: z._default(z.string().check(z.maxLength(128)), ""),
    expiresInDays: z.optional(z.int().check(z.minimum(1), z.maximum(3650))),
  })
  .check(
    z.refine((t) => t.scopes.includes("admin") || t.rpAppId !== undefined, {
      message: "an application token needs its rpAppId (only admin tokens are bound to none)",
      path: ["rpAppId"],
    }),
    z.refine((t) => !(t.scopes.includes("admin") && t.rpAppId !== undefined), {
      message: "an admin token is bound to no application: leave rpAppId out",
      path: ["rpAppId"],
    }),
  );

export const tokenSchema = z.object({
  id: z.string(),
  rpAppId: z.nullable(z.string()),
  scopes: z.array(z.enum(SCOPES)),
  label: z.string(),
  createdAt: z.int(),
  expiresAt: z.nullable(z.int()),
});
export const tokenListSchema = z.array(tokenSchema);

/** Tokens neither revoked nor expired, from the registry. */
export async function visibleTokens(db: D1Database, now: number): Promise<TokenRecord[]> {
  const live = (t: TokenRecord) => t.expiresAt === null || t.expiresAt > now;
  return (await listRegisteredTokens(db))
    .filter((t) => t.revokedAt === null && live(t))
    .map(({ id, rpAppId, scopes, label, createdAt, expiresAt }) => ({
      id,
      rpAppId,
      scopes,
      label,
      createdAt,
      expiresAt,
    }));
}

/**
 * Revokes by id: the registry row is marked (the controls snapshot refuses the token everywhere
 * within 9 s) and the KV record deleted. null when no token has that id; `changed: false` when it
 * was revoked already.
 */
export async function revokeToken(
  kv: KVNamespace,
  db: D1Database,
  id: string,
  /** The revocation's audit event, stored in the same transaction as the revocation. */
  eventOf: (record: TokenRecord) => QueuedAuditEvent,
): Promise<{ record: TokenRecord; changed: boolean; event: QueuedAuditEvent | null } | null> {
  if (!new RegExp(`^[0-9a-f]{${TOKEN_ID_LENGTH}}$`).test(id)) return null;
  const [record, tokenHash] = await Promise.all([getRegisteredToken(db, id), findTokenHashById(kv, id)]);
  if (!record) return null;
  const changed = !record.revokedAt;
  let event = changed ? eventOf(record) : null;
  if (event) {
    const [, kept] = await db.batch([markRevokedStatement(db, record, Date.now()), keepEventStatement(db, event)]);
    // A concurrent revocation of the same token got there first: its request sends the event.
    if (!eventKept(kept)) event = null;
  }
  if (tokenHash) await deleteTokenRecord(kv, tokenHash);
  return { record, changed, event };
}
