-- Computed traits and audiences (src/audiences/). Maintained as the EVENTS consumer resolves
-- each event, and by the minute cron for conditions that change with time alone.

-- One row per profile with audience state: a JSON document of bounded size (aggregates, with
-- hourly or daily buckets for windows; the traits and consent conditions read; memberships;
-- the keys of the last events applied). `version` guards concurrent writers; `next_check_at`
-- is when the answer may change with no new event (NULL: never), read by the minute cron.
CREATE TABLE audience_profiles (
  profile_id TEXT PRIMARY KEY,
  version INTEGER NOT NULL,
  state TEXT NOT NULL, -- JSON
  next_check_at TEXT,
  updated_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX audience_profiles_due ON audience_profiles (next_check_at)
  WHERE next_check_at IS NOT NULL;

-- Who is in each audience now: sizes and the members API.
CREATE TABLE audience_members (
  audience_key TEXT NOT NULL,
  profile_id TEXT NOT NULL,
  entered_at TEXT NOT NULL,
  PRIMARY KEY (audience_key, profile_id)
) WITHOUT ROWID;
CREATE INDEX audience_members_profile_id ON audience_members (profile_id);

-- Each entry and exit, once (message_id is the deterministic id of its Audience Entered or
-- Audience Exited event). Kept two days: the admin API counts the last 24 hours.
CREATE TABLE audience_transitions (
  id INTEGER PRIMARY KEY,
  audience_key TEXT NOT NULL,
  profile_id TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('entered', 'exited')),
  at TEXT NOT NULL,
  message_id TEXT NOT NULL UNIQUE
);
CREATE INDEX audience_transitions_key_at ON audience_transitions (audience_key, at);
CREATE INDEX audience_transitions_at ON audience_transitions (at);

-- Optimistic concurrency, as resolution_guard does for identity: a write batch starts by
-- inserting a row whose `ok` says every profile state it read is unchanged; a 0 fails the
-- CHECK and rolls the batch back. The batch deletes its row before it ends.
CREATE TABLE audience_guard (
  ok INTEGER NOT NULL,
  CONSTRAINT audience_state_unchanged CHECK (ok = 1)
);
