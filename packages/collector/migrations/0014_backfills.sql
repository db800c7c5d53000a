-- Backfills: jobs that read a range of the events of record (R2, by receivedAt) and send it to
-- one destination (kind 'destination') or into the audiences' per-profile state (kind
-- 'audience'). The minute cron advances each running job by bounded steps (src/db/backfills.ts
-- holds every query). (source_index, after_key) is the scan's cursor (records/scan.ts); it moves
-- only after a step's work is queued, and only from the cursor the step started at, so a step
-- run twice, or cut short, never moves it past work that was not queued. `lease_until` keeps two
-- runners off the same job while one works on it.
CREATE TABLE backfills (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL CHECK (kind IN ('destination', 'audience')),
  destination_id TEXT,            -- kind 'destination': the one destination it sends to
  detail TEXT NOT NULL DEFAULT '{}', -- JSON: what the kind needs (audience: definitions, activation)
  sources TEXT NOT NULL,          -- JSON array of source ids, in the order they are scanned
  range_from TEXT NOT NULL,       -- ISO instant, inclusive
  range_to TEXT NOT NULL,         -- ISO instant, exclusive
  status TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done', 'failed', 'cancelled')),
  source_index INTEGER NOT NULL DEFAULT 0,
  after_key TEXT NOT NULL DEFAULT '',
  steps INTEGER NOT NULL DEFAULT 0,
  objects_scanned INTEGER NOT NULL DEFAULT 0,
  events_read INTEGER NOT NULL DEFAULT 0,   -- events of the range and sources found
  events_sent INTEGER NOT NULL DEFAULT 0,   -- of those, queued to the destination (or applied)
  lease_until TEXT,
  error TEXT,
  created_at TEXT NOT NULL,
  started_at TEXT,
  updated_at TEXT NOT NULL,
  finished_at TEXT
);

CREATE INDEX backfills_running ON backfills (id) WHERE status = 'running';
