-- Queue messages that ingest could not hand to the EVENTS queue: kept here instead, so the
-- request still succeeds, and moved to the queue by the scheduled drain.
CREATE TABLE ingest_spool (
  id INTEGER PRIMARY KEY,
  body TEXT NOT NULL,
  spooled_at TEXT NOT NULL
);
