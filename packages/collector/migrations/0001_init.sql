-- Every accepted event, once: append-only, deduplicated on (source_id, message_id).
-- queue_message_id ties a row to the queue message that wrote it, so a redelivery of that
-- message finishes its work while a duplicate sent by the client is skipped.
CREATE TABLE events (
  id INTEGER PRIMARY KEY,
  source_id TEXT NOT NULL,
  message_id TEXT NOT NULL,
  queue_message_id TEXT NOT NULL,
  type TEXT NOT NULL,
  event TEXT,
  user_id TEXT,
  anonymous_id TEXT,
  timestamp TEXT NOT NULL,
  received_at TEXT NOT NULL,
  processed_at TEXT,
  attempts INTEGER NOT NULL DEFAULT 1,
  payload TEXT NOT NULL,
  UNIQUE (source_id, message_id)
);
CREATE INDEX events_received_at ON events (received_at);
CREATE INDEX events_user_id ON events (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX events_anonymous_id ON events (anonymous_id) WHERE anonymous_id IS NOT NULL;
