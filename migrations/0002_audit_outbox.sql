-- Audit events of administrators' changes (settings, tokens), written in the same transaction as the
-- change itself: a change is never made without its event. The Worker sends each one right after
-- answering and deletes its row; the minute cron sends what is left (an isolate stopped in between).
CREATE TABLE audit_outbox (
  id TEXT PRIMARY KEY,
  body TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
