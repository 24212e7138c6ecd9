-- The audit trail. One row per event id (redeliveries are ignored); loggedTimeInUTC is set by the
-- database inside the writing transaction, so a search window closed before "now" is final.
CREATE TABLE audit_events (
  id TEXT PRIMARY KEY NOT NULL,
  eventName TEXT NOT NULL,
  rpAppId TEXT,
  eventTimeInUTC INTEGER NOT NULL,
  loggedTimeInUTC INTEGER NOT NULL,
  isSuccessful INTEGER NOT NULL,
  errorCode TEXT,
  body TEXT NOT NULL
) WITHOUT ROWID;

-- Search windows are on loggedTimeInUTC; the default order (eventTimeInUTC, id) is carried in the
-- index so a window's first pages need no sort of the whole window.
CREATE INDEX audit_events_by_logged ON audit_events (loggedTimeInUTC, eventTimeInUTC, id);
CREATE INDEX audit_events_by_app_logged ON audit_events (rpAppId, loggedTimeInUTC, eventTimeInUTC, id);

-- Queue messages that were not valid events: acknowledged (never retried) and kept for operators.
CREATE TABLE audit_rejects (
  messageId TEXT PRIMARY KEY NOT NULL,
  reason TEXT NOT NULL,
  receivedTimeInUTC INTEGER NOT NULL
);
