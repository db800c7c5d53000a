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

-- What a step that writes D1 state (an audience backfill) runs first in its batch: it fails,
-- and the whole batch with it, when the job's cursor is not the one the step started from.
CREATE TABLE backfill_guard (
  ok INTEGER NOT NULL,
  CONSTRAINT backfill_cursor_unchanged CHECK (ok = 1)
);

-- The audience definitions the collector counts (audiences/definitions.ts holds every query):
-- each aggregate (a computed trait, or one a condition reads) and each audience, by id, with
-- the hash of its definition. An aggregate counts, live, only events received from
-- `active_from` on; a backfill job (`backfill_id`) counts the earlier ones from the events of
-- record, so no event counts twice. An audience is `held` (not evaluated live) until its
-- backfill has evaluated every profile. Rows of the first definitions a collector sees have an
-- empty `active_from`: they were counted live from the start.
CREATE TABLE audience_definitions (
  kind TEXT NOT NULL CHECK (kind IN ('aggregate', 'audience')),
  id TEXT NOT NULL,
  hash TEXT NOT NULL,
  active_from TEXT NOT NULL,
  held INTEGER NOT NULL DEFAULT 0,
  backfill_id INTEGER,
  PRIMARY KEY (kind, id)
) WITHOUT ROWID;
