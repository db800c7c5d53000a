-- The erasure index names hour partitions instead of objects (src/archive/archive-index.ts), so
-- it grows with people × the hours they were active, not with events or objects: a batch writes
-- a row only for a (profile, partition) not indexed yet. Erasure lists each partition and
-- rewrites every object of it that may hold the person (a Bloom filter of the profiles in each
-- object's metadata spares it the others).
--
-- partition: an object's key up to and including its last "/", e.g.
-- "events/source=web/dt=2026-11-01/hour=08/" (events of record) or "<prefix>dt=…/hour=08/" (an
-- `r2` destination's archive). written_at: when the row was first written; rows are pruned an
-- hour after EVENT_RETENTION_DAYS, once retention has deleted the partition.
CREATE TABLE archive_partitions (
  profile_id TEXT NOT NULL,
  bucket TEXT NOT NULL,
  partition TEXT NOT NULL,
  written_at TEXT NOT NULL,
  PRIMARY KEY (profile_id, bucket, partition)
) WITHOUT ROWID;
CREATE INDEX archive_partitions_written_at ON archive_partitions (written_at);

-- Partitions that may still hold an erased profile's events: moved here from archive_partitions
-- by the deletion's transaction, removed once every object of the partition is rewritten.
CREATE TABLE archive_partition_rewrites (
  profile_id TEXT NOT NULL,
  bucket TEXT NOT NULL,
  partition TEXT NOT NULL,
  queued_at TEXT NOT NULL,
  PRIMARY KEY (profile_id, bucket, partition)
) WITHOUT ROWID;
CREATE INDEX archive_partition_rewrites_queued_at ON archive_partition_rewrites (queued_at);

-- Existing rows move over, one per partition. rtrim(key, <every character but "/">) cuts the key
-- back to its last "/". The latest time is kept: the row then outlives every object it covers,
-- and a rewrite waits its grace period after the latest write it may have to see.
INSERT INTO archive_partitions (profile_id, bucket, partition, written_at)
SELECT profile_id, bucket, rtrim(object_key, replace(object_key, '/', '')), max(written_at)
FROM archive_index GROUP BY 1, 2, 3;

INSERT INTO archive_partition_rewrites (profile_id, bucket, partition, queued_at)
SELECT profile_id, bucket, rtrim(object_key, replace(object_key, '/', '')), max(queued_at)
FROM archive_rewrites GROUP BY 1, 2, 3;

DROP TABLE archive_index;
DROP TABLE archive_rewrites;
