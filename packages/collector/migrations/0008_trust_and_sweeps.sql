-- Source trust for traits, and the sweeper for stuck deliveries.

-- The trust rank of the source that wrote each trait (0 client, 1 server; see
-- src/identity/trust.ts): a write never replaces a value of a higher rank. Traits stored before
-- ranks existed count as client writes, so they keep behaving as before and any server write
-- now wins over them.
ALTER TABLE profile_traits ADD COLUMN trust_rank INTEGER NOT NULL DEFAULT 0;
ALTER TABLE group_traits ADD COLUMN trust_rank INTEGER NOT NULL DEFAULT 0;

-- Times identity orders by are now an event's timestamp clamped to its receivedAt plus 10 s.
-- Values written before the clamp may lie in the future (a client could send year 9999); bring
-- them back to now, so they neither win every later write nor show as future dates. Times are
-- stored as Date#toISOString writes them, which is the format below.
UPDATE profile_traits SET updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
WHERE updated_at > strftime('%Y-%m-%dT%H:%M:%fZ', 'now');
UPDATE group_traits SET updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
WHERE updated_at > strftime('%Y-%m-%dT%H:%M:%fZ', 'now');
UPDATE profiles SET last_seen = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
WHERE last_seen > strftime('%Y-%m-%dT%H:%M:%fZ', 'now');
UPDATE profiles SET first_seen = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
WHERE first_seen > strftime('%Y-%m-%dT%H:%M:%fZ', 'now');
UPDATE profile_groups SET last_seen = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
WHERE last_seen > strftime('%Y-%m-%dT%H:%M:%fZ', 'now');
UPDATE profile_groups SET first_seen = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
WHERE first_seen > strftime('%Y-%m-%dT%H:%M:%fZ', 'now');

-- How many times the sweeper (src/delivery/sweep.ts) re-queued a row whose DELIVERIES message
-- never came back; after a few it gives up and marks the row dead. A replay resets it.
ALTER TABLE deliveries ADD COLUMN sweeps INTEGER NOT NULL DEFAULT 0;
-- next_attempt_at is when the consumer should next see an in-flight row (queued, retry due,
-- or a hold's end); the sweeper looks for rows long past it.
CREATE INDEX deliveries_stuck ON deliveries (next_attempt_at)
  WHERE status IN ('pending', 'retrying');
