// Every Workers KV key of the service (binding QR_KV), in one place: the stores, the token script and
// the bench import it, and docs/storage.md documents each prefix (a test checks both lists match).
// Plain JavaScript so the Node scripts can import it as it is; a new format gets a new version (v2),
// so old and new entries never mix.

/** Every prefix, with the one-line meaning docs/storage.md expands on. */
export const KV_PREFIXES = /** @type {const} */ ({
  pending: "pending:v1:",
  token: "token:v1:",
  outbox: "outbox:v1:",
  searchOrder: "searchorder:v1:",
  searchCursor: "searchcursor:v1:",
  hook: "hook:v1:",
  hookStatus: "hookstatus:v1:",
  hookList: "hooklist:v1:",
  auditBacklog: "auditbacklog:v1:",
});

/** @param {string} indexId base64url HMAC of a normalized activation code */
export const pendingKey = (indexId) => KV_PREFIXES.pending + indexId;

/** @param {string} tokenHash lowercase hex SHA-256 of an API token */
export const tokenKey = (tokenHash) => KV_PREFIXES.token + tokenHash;

/**
 * Sorts by event time, so the cron drain sends the oldest first.
 * @param {{ eventTimeInUTC: number, id: string }} event
 */
export const outboxKey = (event) =>
  `${KV_PREFIXES.outbox}${String(event.eventTimeInUTC).padStart(15, "0")}:${event.id}`;

/** @param {string} windowId hex SHA-256 of (token id, filter) */
export const searchOrderKey = (windowId) => KV_PREFIXES.searchOrder + windowId;

/**
 * @param {string} windowId
 * @param {number} pageSize
 * @param {number} pageNumber
 */
export const searchCursorKey = (windowId, pageSize, pageNumber) =>
  `${KV_PREFIXES.searchCursor}${windowId}:${pageSize}:${pageNumber}`;

/** @param {string} hookId random UUID of an event hook */
export const hookKey = (hookId) => KV_PREFIXES.hook + hookId;

/** @param {string} hookId */
export const hookStatusKey = (hookId) => KV_PREFIXES.hookStatus + hookId;

/** Changes whenever a hook is created or deleted, so readers of the list know when to read it again. */
export const hookListGenerationKey = () => `${KV_PREFIXES.hookList}generation`;
