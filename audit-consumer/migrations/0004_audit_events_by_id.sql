-- The trail's key is the event id, a UUIDv7 (time first, common/audit-contract.ts): one window's
-- events still sit together on disk, and the id's uniqueness needs no index of its own, so an event
-- writes 3 rows (the row and the two narrow indexes a window is searched by) instead of 4.
CREATE TABLE audit_events_by_id (
  id TEXT PRIMARY KEY NOT NULL,
  eventName TEXT NOT NULL,
  rpAppId TEXT,
  eventTimeInUTC INTEGER NOT NULL,
  loggedTimeInUTC INTEGER NOT NULL,
  isSuccessful INTEGER NOT NULL,
  errorCode TEXT,
  body TEXT NOT NULL
) WITHOUT ROWID;

INSERT INTO audit_events_by_id (id, eventName, rpAppId, eventTimeInUTC, loggedTimeInUTC, isSuccessful, errorCode, body)
  SELECT id, eventName, rpAppId, eventTimeInUTC, loggedTimeInUTC, isSuccessful, errorCode, body FROM audit_events;
DROP TABLE audit_events;
ALTER TABLE audit_events_by_id RENAME TO audit_events;

-- Windows are read from these (no bodies); a page's bodies are then read by id.
CREATE INDEX audit_events_by_logged ON audit_events (loggedTimeInUTC, eventTimeInUTC, id);
CREATE INDEX audit_events_by_app_logged ON audit_events (rpAppId, loggedTimeInUTC, eventTimeInUTC, id);
