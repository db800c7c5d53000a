-- The erasure index in a compact form (src/archive/archive-index.ts). A row of
-- archive_partitions held the profile id, the bucket, the partition's folder and a time, and its
-- time index held them again: 249 bytes per (profile, hour partition), most of an active
-- person's D1 bytes. Now each partition's bucket and folder are written once, in
-- archive_partition_names, and a (profile, partition) row holds the profile id and the
-- partition's number only; the time is the partition's, which is what pruning needs.
--
-- archive_partition_names.written_at: when the partition was first indexed; its rows are pruned
-- an hour after EVENT_RETENTION_DAYS, once retention has deleted the partition.
CREATE TABLE archive_partition_names (
  id INTEGER PRIMARY KEY,
  bucket TEXT NOT NULL,
  partition TEXT NOT NULL,
  written_at TEXT NOT NULL,
  UNIQUE (bucket, partition)
);
CREATE INDEX archive_partition_names_written_at ON archive_partition_names (written_at);

CREATE TABLE archive_profile_partitions (
  profile_id TEXT NOT NULL,
  partition_id INTEGER NOT NULL,
  PRIMARY KEY (profile_id, partition_id)
) WITHOUT ROWID;
-- For pruning a partition's rows.
CREATE INDEX archive_profile_partitions_partition ON archive_profile_partitions (partition_id);

-- Existing rows move over; a partition keeps its earliest time. Every row was written once its
-- partition's hour had begun, which is all pruning relies on.
INSERT INTO archive_partition_names (bucket, partition, written_at)
SELECT bucket, partition, min(written_at) FROM archive_partitions GROUP BY bucket, partition;

INSERT INTO archive_profile_partitions (profile_id, partition_id)
SELECT a.profile_id, n.id FROM archive_partitions AS a
JOIN archive_partition_names AS n ON n.bucket = a.bucket AND n.partition = a.partition;

DROP TABLE archive_partitions;
