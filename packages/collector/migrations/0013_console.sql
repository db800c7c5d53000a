-- The console (/console). Counters for the overview, written once per consumer batch (accepted)
-- or per ingest request with rejections (rejected), never per event: one row per source and UTC
-- minute, kept 24 hours (the hourly cron's retention does not know this table; the upsert
-- deletes rows older than a day as it writes).
CREATE TABLE console_event_counts (
  source_id TEXT NOT NULL,
  minute TEXT NOT NULL,           -- 'YYYY-MM-DDTHH:MM', UTC
  accepted INTEGER NOT NULL DEFAULT 0,
  rejected INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (source_id, minute)
) WITHOUT ROWID;

-- Whether someone watches the live view: the live-tail Durable Object sets `until` while it
-- holds a socket and renews it; the consumer reads it in the same round trip as its counter
-- upsert, so an unwatched console costs no extra call per batch.
CREATE TABLE console_watch (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  until_ms INTEGER NOT NULL
);

-- Failed console sign-ins per client address and 15-minute window, for the rate limit.
CREATE TABLE console_sign_in_failures (
  client TEXT NOT NULL,
  window_start INTEGER NOT NULL,  -- ms since the epoch, a multiple of the window
  failures INTEGER NOT NULL,
  PRIMARY KEY (client, window_start)
) WITHOUT ROWID;
