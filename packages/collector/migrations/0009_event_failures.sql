-- The last error the EVENTS consumer saw for a queue message it handed back for a retry, keyed
-- by a SHA-256 of the message body (a dead-lettered message keeps its body, not necessarily its
-- id). Written only when a batch fails, read by the events dead-letter consumer, which parks
-- the message's events with this error and deletes the row.
CREATE TABLE event_failures (
  body_hash TEXT PRIMARY KEY,
  error TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  failed_at TEXT NOT NULL
);
-- Parking is idempotent per event (a redelivered dead letter parks nothing twice): the insert
-- looks for a waiting row of the same event.
CREATE INDEX parked_waiting_event ON parked (source_id, message_id) WHERE replayed_at IS NULL;
