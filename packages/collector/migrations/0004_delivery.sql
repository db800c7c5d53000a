-- The delivery log: one row per (destination, event) routed to it, or per profile deletion
-- forwarded to it. It is the delivery state the DELIVERIES consumer reads and writes (an event
-- already delivered is never sent again by a redelivered queue message), what `npm run replay`
-- re-sends from, and what per-profile ordering consults.
--   status: pending (queued) | retrying (a retry is scheduled at next_attempt_at) | delivered |
--           failed (refused by the destination, not retried) | dead (attempts used up) |
--           dropped (the destination cannot take it, e.g. a GA4 name limit; last_error says why)
--   kind:   event | deletion (then source_id is '' and message_id is 'deletion:<profile_deletions.id>')
CREATE TABLE deliveries (
  id INTEGER PRIMARY KEY,
  destination_id TEXT NOT NULL,
  source_id TEXT NOT NULL,
  message_id TEXT NOT NULL,
  kind TEXT NOT NULL DEFAULT 'event',
  profile_key TEXT,
  event_time TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_status INTEGER,
  last_error TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  next_attempt_at TEXT NOT NULL,
  delivered_at TEXT,
  UNIQUE (destination_id, source_id, message_id)
);
-- Per-profile ordering: "is an earlier event of this profile still on its way to this destination?"
CREATE INDEX deliveries_in_flight ON deliveries (destination_id, profile_key, event_time)
  WHERE status IN ('pending', 'retrying');
-- Replay: "this destination's failed/dead rows since <time>".
CREATE INDEX deliveries_by_status ON deliveries (destination_id, status, created_at);

-- Destinations switched off by their receiver (a webhook answering 410 Gone). Fan-out skips
-- them until a replay to the destination switches them back on.
CREATE TABLE destination_state (
  destination_id TEXT PRIMARY KEY,
  disabled_at TEXT NOT NULL,
  reason TEXT NOT NULL
);
