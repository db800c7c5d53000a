-- What the pipeline could not finish and an operator must look at: events that storage refused
-- or that the EVENTS dead-letter queue received (kind 'event'), spooled messages the queue
-- would not take (kind 'event', one row per event), and deliveries given up on (kind
-- 'delivery', from the DELIVERIES dead-letter queue). Nothing here is retried by itself:
-- `npm run parked` lists, shows and replays rows. user_id, anonymous_id and profile_id let
-- erasure find a person's rows; payload is the event as JSON text, kept as received (it may be
-- exactly what SQLite's JSON functions refuse, so no statement here reads it as JSON).
CREATE TABLE parked (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  source_id TEXT NOT NULL,
  message_id TEXT,
  destination_id TEXT,
  profile_id TEXT,
  user_id TEXT,
  anonymous_id TEXT,
  reason TEXT NOT NULL,
  error TEXT NOT NULL,
  payload TEXT NOT NULL,
  parked_at TEXT NOT NULL,
  replayed_at TEXT
);
CREATE INDEX parked_by_kind ON parked (kind, id) WHERE replayed_at IS NULL;
CREATE INDEX parked_user_id ON parked (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX parked_anonymous_id ON parked (anonymous_id) WHERE anonymous_id IS NOT NULL;
CREATE INDEX parked_profile_id ON parked (profile_id) WHERE profile_id IS NOT NULL;
