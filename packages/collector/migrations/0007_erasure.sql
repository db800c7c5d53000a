-- Erasure that finishes: what a profile deletion must still reach after its D1 transaction, and
-- how far it got. See src/identity/delete-profile.ts and src/identity/finish-erasures.ts.

-- Profile ids of erased people: each deleted profile and every profile it had absorbed, under the
-- profile id its deletion names (profile_deletions.profile_id). Profile ids are opaque (never
-- derived from an identifier), so this keeps no personal data. The DELIVERIES consumer drops an
-- event whose profile is here instead of sending it; the archive index never indexes one again.
CREATE TABLE erased_profiles (
  profile_id TEXT PRIMARY KEY,
  erased_as TEXT NOT NULL,
  erased_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX erased_profiles_erased_as ON erased_profiles (erased_as);

-- Progress of a deletion. removed: JSON counts of what its transaction removed, per store.
-- forwarding_started_at: the cron created its delivery-log rows (kind 'deletion'), one per
-- destination that deletes. forwarding: JSON { destinationId: status } of those rows once all
-- are final, brought up to date when the identifiers are hashed (the rows expire with the
-- retention period; the record keeps their outcome).
-- identities_hashed_at: `identities` holds [{ type, hash }] from then on (hash as in
-- identity_suppressions). completed_at: every store is done.
ALTER TABLE profile_deletions ADD COLUMN removed TEXT;
ALTER TABLE profile_deletions ADD COLUMN forwarding_started_at TEXT;
ALTER TABLE profile_deletions ADD COLUMN forwarding TEXT;
ALTER TABLE profile_deletions ADD COLUMN identities_hashed_at TEXT;
ALTER TABLE profile_deletions ADD COLUMN completed_at TEXT;
-- Deletions already forwarded before this migration are not forwarded again.
UPDATE profile_deletions SET forwarding_started_at = requested_at
WHERE EXISTS (SELECT 1 FROM deliveries AS d
              WHERE d.kind = 'deletion' AND d.message_id = 'deletion:' || profile_deletions.id);
-- The crons look only at deletions still under way, so a long history costs them nothing.
CREATE INDEX profile_deletions_unforwarded ON profile_deletions (id) WHERE forwarding_started_at IS NULL;
CREATE INDEX profile_deletions_unfinished ON profile_deletions (id) WHERE completed_at IS NULL;

-- Erasure: "every log row of these profiles" (profile_key is the resolved profile id, or the
-- userId/anonymousId of an event without one), and "the forwarding rows of this deletion".
CREATE INDEX deliveries_profile_key ON deliveries (profile_key) WHERE profile_key IS NOT NULL;
CREATE INDEX deliveries_deletions ON deliveries (message_id) WHERE kind = 'deletion';

-- Which archive objects (gzip NDJSON of events, in the R2 bucket bound as `bucket`) hold events of
-- which profile, written before the object is. Rows older than the event retention are pruned.
CREATE TABLE archive_index (
  profile_id TEXT NOT NULL,
  bucket TEXT NOT NULL,
  object_key TEXT NOT NULL,
  written_at TEXT NOT NULL,
  PRIMARY KEY (profile_id, bucket, object_key)
) WITHOUT ROWID;
CREATE INDEX archive_index_written_at ON archive_index (written_at);

-- Archive objects that still hold an erased profile's events: moved here from archive_index by
-- the deletion's transaction, and removed once the object is rewritten without them.
CREATE TABLE archive_rewrites (
  profile_id TEXT NOT NULL,
  bucket TEXT NOT NULL,
  object_key TEXT NOT NULL,
  queued_at TEXT NOT NULL,
  PRIMARY KEY (profile_id, bucket, object_key)
) WITHOUT ROWID;
CREATE INDEX archive_rewrites_queued_at ON archive_rewrites (queued_at);
