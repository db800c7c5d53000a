-- Events of record move to R2 (bucket conduit-events, binding RECORDS: src/records/); D1 keeps a
-- bounded deduplication window instead of every event. See docs/scaling.md, "Storage".

-- The old table is kept, renamed, until `npm run events -- migrate` has copied its rows to R2 and
-- `migrate --drop` drops it (the command checks the count by messageId first). Its indexes go
-- now: nothing queries them any more, and they are most of its size.
DROP INDEX IF EXISTS events_received_at;
DROP INDEX IF EXISTS events_user_id;
DROP INDEX IF EXISTS events_anonymous_id;
DROP INDEX IF EXISTS events_profile_id;
ALTER TABLE events RENAME TO events_legacy;

-- The deduplication window: one row per (source, messageId) claimed in the last DEDUP_WINDOW_HOURS.
-- key: the first 8 bytes of SHA-256(sourceId "\n" messageId) as a signed 64-bit integer, so the
-- row is its rowid (no other index: every index on a per-event table costs a written row per
-- event). owner: the same hash of the queue message that claimed it, 0 once released to `parked`.
-- claimed_at: epoch seconds. Pruned by the cron in key ranges (dedup_prune).
CREATE TABLE seen (
  key INTEGER PRIMARY KEY,
  owner INTEGER NOT NULL,
  claimed_at INTEGER NOT NULL
);

-- Queue messages whose events are all finished (one row per message, not one write per event):
-- a redelivery of a finished message claims nothing. Pruned with the window.
CREATE TABLE finished_messages (
  owner INTEGER PRIMARY KEY,
  at INTEGER NOT NULL
);

-- Identity's counters (event counts, lifetime value, dropped-event counts) are not idempotent:
-- each identity commit records here, in the same transaction, which events (seen keys, as a JSON
-- array of decimal strings) of which queue message it counted, so a redelivery counts none twice.
-- One row per (queue message, commit); part is the first key of the commit's list.
CREATE TABLE identity_applied (
  owner INTEGER NOT NULL,
  part TEXT NOT NULL,
  keys TEXT NOT NULL,
  at INTEGER NOT NULL,
  PRIMARY KEY (owner, part)
) WITHOUT ROWID;

-- Where the cron's prune of the window is in the key space, and where the legacy migration is.
CREATE TABLE store_cursors (
  name TEXT PRIMARY KEY,
  position TEXT NOT NULL
) WITHOUT ROWID;
