-- The trail is stored in time order: the table's key becomes (loggedTimeInUTC, eventTimeInUTC, id),
-- so the events of one search window sit together on disk and a page's bodies are read from a few
-- adjacent pages, however large the trail grows (with the id as key they were scattered at random).
-- Redeliveries are still ignored: the id stays unique.
CREATE TABLE audit_events_by_time (
  id TEXT NOT NULL UNIQUE,
  eventName TEXT NOT NULL,
  rpAppId TEXT,
  eventTimeInUTC INTEGER NOT NULL,
  loggedTimeInUTC INTEGER NOT NULL,
  isSuccessful INTEGER NOT NULL,
  errorCode TEXT,
  body TEXT NOT NULL,
  PRIMARY KEY (loggedTimeInUTC, eventTimeInUTC, id)
) WITHOUT ROWID;

INSERT INTO audit_events_by_time (id, eventName, rpAppId, eventTimeInUTC, loggedTimeInUTC, isSuccessful, errorCode, body)
  SELECT id, eventName, rpAppId, eventTimeInUTC, loggedTimeInUTC, isSuccessful, errorCode, body FROM audit_events;
DROP TABLE audit_events;
ALTER TABLE audit_events_by_time RENAME TO audit_events;

-- A page is chosen from this narrow index (no bodies), then only its rows are read.
CREATE INDEX audit_events_by_logged ON audit_events (loggedTimeInUTC, eventTimeInUTC, id);
CREATE INDEX audit_events_by_app_logged ON audit_events (rpAppId, loggedTimeInUTC, eventTimeInUTC, id);
