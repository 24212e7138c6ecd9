/**
 * The audit contract, imported by both Workers and the bench: the event (the vendor's shape), the
 * D1 columns it is stored in, and every SQL statement that writes or moves the trail.
 * User-identifying fields are always null; no code, pin, username or payload ever goes in.
 */
import * as z from "zod/mini";

export const AuditEventName = {
  PAYLOAD_RETRIEVED: "QR_FALLBACK_PAYLOAD_RETRIEVED",
  CODE_ISSUED: "QR_FALLBACK_CODE_ISSUED",
  ATTACK_MODE_STARTED: "QR_FALLBACK_ATTACK_MODE_STARTED",
  ATTACK_MODE_ENDED: "QR_FALLBACK_ATTACK_MODE_ENDED",
  LOOKUPS_REFUSED: "QR_FALLBACK_LOOKUPS_REFUSED",
  SETTINGS_CHANGED: "QR_FALLBACK_SETTINGS_CHANGED",
  TOKEN_CREATED: "QR_FALLBACK_TOKEN_CREATED",
  TOKEN_REVOKED: "QR_FALLBACK_TOKEN_REVOKED",
  /** Audit events reached the dead-letter queue (the trail's database refused them past every retry). */
  AUDIT_DEGRADED: "QR_FALLBACK_AUDIT_DEGRADED",
} as const;
export type AuditEventName = (typeof AuditEventName)[keyof typeof AuditEventName];

/** Tags integrators filter on: every event is QR_FALLBACK; brute-force signals are also SECURITY. */
export const EVENT_TAGS = ["QR_FALLBACK", "SECURITY"] as const;
export type EventTag = (typeof EVENT_TAGS)[number];

/** Failed lookups, refusals, attack mode and administrators' changes are what a security team watches for. */
export function eventTagsOf(eventName: AuditEventName, isSuccessful: boolean): EventTag[] {
  const security =
    eventName === AuditEventName.LOOKUPS_REFUSED ||
    eventName === AuditEventName.SETTINGS_CHANGED ||
    eventName === AuditEventName.TOKEN_CREATED ||
    eventName === AuditEventName.TOKEN_REVOKED ||
    eventName === AuditEventName.ATTACK_MODE_STARTED ||
    eventName === AuditEventName.ATTACK_MODE_ENDED ||
    eventName === AuditEventName.AUDIT_DEGRADED ||
    (eventName === AuditEventName.PAYLOAD_RETRIEVED && !isSuccessful);
  return security ? ["QR_FALLBACK", "SECURITY"] : ["QR_FALLBACK"];
}

const nullOnly = z.null();
const text = (max: number) => z.string().check(z.maxLength(max));
const nullableText = (max: number) => z.nullable(text(max));

const appSettingsValues = z.strictObject({
  enabled: z.nullable(z.boolean()),
  qrTtlSeconds: z.nullable(z.int()),
  rpUrl: z.nullable(text(512)),
});

/** What the producer sends on the queue; `loggedTimeInUTC` is assigned when the row is written. */
export const queuedAuditEventSchema = z.strictObject({
  id: z.uuid(),
  version: z.literal(1),
  type: z.literal("AUDIT"),
  eventName: z.enum(Object.values(AuditEventName) as [AuditEventName, ...AuditEventName[]]),
  message: text(512),
  subName: text(128),
  eventLoggedBy: z.literal("RELYING_PARTY_SERVER"),
  eventTimeInUTC: z.int().check(z.nonnegative()),
  tenantId: text(128),
  remoteIP: nullableText(64),
  userAgent: nullableText(256),
  traceId: nullableText(128),
  rpAppId: nullableText(128),
  isSuccessful: z.boolean(),
  errorCode: nullableText(64),
  errorSeverity: nullableText(32),
  deviceId: nullOnly,
  machineId: nullOnly,
  sessionId: nullOnly,
  fidoUser: nullOnly,
  machineUserName: nullOnly,
  additionalDetails: z.strictObject({
    extras: z.strictObject({
      fallbackId: z.optional(z.uuid()),
      /** QR_FALLBACK_LOOKUPS_REFUSED: how many requests, refused in the minute starting then. */
      refusedCount: z.optional(z.int().check(z.positive())),
      windowStartUTC: z.optional(z.int().check(z.nonnegative())),
      /** QR_FALLBACK_LOOKUPS_REFUSED: the networks that sent the most, with their counts. */
      topNetworks: z.optional(
        z.array(z.strictObject({ network: text(64), count: z.int().check(z.positive()) })).check(z.maxLength(5)),
      ),
      /** Administrators' changes: the id of the token that made it (never the token). */
      actorTokenId: z.optional(text(32)),
      /** QR_FALLBACK_TOKEN_*: the token created or revoked, and its scopes. */
      tokenId: z.optional(text(32)),
      scopes: z.optional(z.array(text(32)).check(z.maxLength(8))),
      /** QR_FALLBACK_SETTINGS_CHANGED: the application's settings before and after (null = default). */
      settingsBefore: z.optional(appSettingsValues),
      settingsAfter: z.optional(appSettingsValues),
      /** QR_FALLBACK_AUDIT_DEGRADED: the events that reached the dead-letter queue with it. */
      deadLetteredCount: z.optional(z.int().check(z.positive())),
    }),
  }),
  // Optional on the queue only so events sent by the previous version still validate.
  eventTags: z.optional(z.array(z.enum(EVENT_TAGS)).check(z.maxLength(8))),
});

export type QueuedAuditEvent = z.infer<typeof queuedAuditEventSchema>;
/** An event as the trail holds and the search API returns it. */
export const auditEventSchema = z.extend(queuedAuditEventSchema, { loggedTimeInUTC: z.int() });
export type AuditEvent = QueuedAuditEvent & { loggedTimeInUTC: number };

/**
 * A new event id: a UUIDv7 of `now` (epoch ms), so ids sort in time order and the trail, keyed by id,
 * keeps a window's events together. Random bits from crypto.getRandomValues.
 */
export function newEventId(now = Date.now()): string {
  // RFC 9562 §5.7: 48-bit big-endian Unix ms, version 7, variant 10, the other 74 bits random.
  const b = crypto.getRandomValues(new Uint8Array(16));
  for (let i = 0; i < 6; i++) b[i] = Math.floor(now / 256 ** (5 - i)) % 256;
  b[6] = 0x70 | (b[6] & 0x0f);
  b[8] = 0x80 | (b[8] & 0x3f);
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Puts loggedTimeInUTC where the vendor's shape has it, right after eventTimeInUTC. */
export function withLoggedTime(event: QueuedAuditEvent, loggedTimeInUTC: number): AuditEvent {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(event)) {
    out[k] = v;
    if (k === "eventTimeInUTC") out.loggedTimeInUTC = loggedTimeInUTC;
  }
  return out as AuditEvent;
}

// --- the trail in D1 (tables: audit-consumer/migrations) -------------------------------------

/**
 * A whole batch in one statement: the events go in as one JSON array parameter and SQLite unpacks
 * it (`json_each`), so D1 parses, plans and round-trips once per batch instead of once per event
 * (measured: a third of the consumer's cost per event, BENCHMARKS.md). Each stored body is the
 * event's JSON as sent. `loggedTimeInUTC` is the database's clock at the write, one value for the
 * statement. A redelivered event (same id) is ignored.
 */
export const INSERT_EVENTS = `INSERT INTO audit_events
  (id, eventName, rpAppId, eventTimeInUTC, loggedTimeInUTC, isSuccessful, errorCode, body)
  SELECT value ->> 'id', value ->> 'eventName', value ->> 'rpAppId', value ->> 'eventTimeInUTC',
    CAST(unixepoch('subsec') * 1000 AS INTEGER), value ->> 'isSuccessful', value ->> 'errorCode', value
  FROM json_each(?1) WHERE true
  ON CONFLICT (id) DO NOTHING`;

/** Keeps each statement's parameter well under D1's 2 MB value limit, whatever the batch size. */
const MAX_CHUNK_CHARS = 512 * 1024;

/** Splits events into JSON arrays of at most `maxChars` characters (one event per chunk at least). */
export function chunkEvents(events: QueuedAuditEvent[], maxChars = MAX_CHUNK_CHARS): string[] {
  const chunks: string[] = [];
  let current: string[] = [];
  let size = 2;
  for (const event of events) {
    const json = JSON.stringify(event);
    if (current.length > 0 && size + json.length + 1 > maxChars) {
      chunks.push(`[${current.join(",")}]`);
      current = [];
      size = 2;
    }
    current.push(json);
    size += json.length + 1;
  }
  if (current.length > 0) chunks.push(`[${current.join(",")}]`);
  return chunks;
}

/** Writes a batch of events in one D1 transaction (one statement per chunk, usually one). */
export async function writeEvents(db: D1Database, events: QueuedAuditEvent[], maxChunkChars?: number): Promise<void> {
  if (events.length === 0) return;
  const insert = db.prepare(INSERT_EVENTS);
  await db.batch(chunkEvents(events, maxChunkChars).map((chunk) => insert.bind(chunk)));
}

export async function writeRejects(db: D1Database, rejects: { messageId: string; reason: string }[]): Promise<void> {
  if (rejects.length === 0) return;
  const insert = db.prepare(
    "INSERT INTO audit_rejects (messageId, reason, receivedTimeInUTC) VALUES (?1, ?2, ?3) ON CONFLICT (messageId) DO NOTHING",
  );
  const now = Date.now();
  await db.batch(rejects.map((r) => insert.bind(r.messageId, r.reason.slice(0, 500), now)));
}

// --- retention: a day of the trail leaves D1 once archived (audit-consumer/src/retention.ts) ----

/** The oldest loggedTimeInUTC in the trail (null when empty). */
export const OLDEST_LOGGED = "SELECT min(loggedTimeInUTC) AS oldest FROM audit_events";

/** Rows in [?1, ?2) on loggedTimeInUTC. */
export const COUNT_LOGGED_BETWEEN =
  "SELECT count(*) AS n FROM audit_events WHERE loggedTimeInUTC >= ?1 AND loggedTimeInUTC < ?2";

/** One page of [?1, ?2) in key order, after the key (?3, ?4, ?5); the table's own order (cheap). */
export const PAGE_LOGGED_BETWEEN = `SELECT body, loggedTimeInUTC, eventTimeInUTC, id FROM audit_events
  WHERE loggedTimeInUTC >= ?1 AND loggedTimeInUTC < ?2 AND (loggedTimeInUTC, eventTimeInUTC, id) > (?3, ?4, ?5)
  ORDER BY loggedTimeInUTC, eventTimeInUTC, id LIMIT ?6`;

/** Deletes at most ?3 rows of [?1, ?2): retention deletes in bounded batches. */
export const DELETE_LOGGED_BETWEEN = `DELETE FROM audit_events WHERE id IN
  (SELECT id FROM audit_events WHERE loggedTimeInUTC >= ?1 AND loggedTimeInUTC < ?2 LIMIT ?3)`;
