-- The delivery log, per batch: one row per DELIVERIES message (one destination's batch of
-- events, or one profile deletion forwarded to it), plus one row per event only when that event
-- failed. It replaces `deliveries` (one row per destination and event), so the log costs a few
-- D1 rows written per message instead of several per event. See docs/delivery.md.

-- One row per DELIVERIES message. batch_key is what the message carries (`batch`): derived from
-- the destination and the events' ids at fan-out, so a fan-out run again writes the same key.
--   status: pending (queued) | retrying (a retry of the message is scheduled at next_attempt_at)
--           | done (every event is final: delivered, or a delivery_failures row says what else)
--   body:   the message itself while it is not done, so the sweeper can queue a lost one again
--           and replay can re-send it; cleared when the batch is done.
--   events: events the batch carried; delivered: how many of them the destination took.
CREATE TABLE delivery_batches (
  id INTEGER PRIMARY KEY,
  batch_key TEXT NOT NULL UNIQUE,
  destination_id TEXT NOT NULL,
  kind TEXT NOT NULL DEFAULT 'events',
  deletion_id INTEGER,
  events INTEGER NOT NULL,
  delivered INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  sweeps INTEGER NOT NULL DEFAULT 0,
  last_status INTEGER,
  last_error TEXT,
  body TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  next_attempt_at TEXT NOT NULL,
  settled_at TEXT
);
-- The sweeper and erasure look only at batches in flight: a done batch leaves this index.
CREATE INDEX delivery_batches_in_flight ON delivery_batches (next_attempt_at)
  WHERE status IN ('pending', 'retrying');
-- A deletion's forwarding, per destination (erasure status, hashing the record).
CREATE INDEX delivery_batches_deletions ON delivery_batches (deletion_id) WHERE kind = 'deletion';

-- One row per event (or deletion) a destination has not taken: retrying, failed, dead or
-- dropped. payload is the event as fan-out routed it (its profile resolved), which replay and
-- the dead-letter path send again; null for deletions (rebuilt from profile_deletions) and for
-- dropped events (never replayed). Deleted when the event is delivered, by erasure, and after
-- EVENT_RETENTION_DAYS.
CREATE TABLE delivery_failures (
  id INTEGER PRIMARY KEY,
  destination_id TEXT NOT NULL,
  source_id TEXT NOT NULL,
  message_id TEXT NOT NULL,
  kind TEXT NOT NULL DEFAULT 'event',
  batch_key TEXT NOT NULL,
  profile_key TEXT,
  event_time TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  last_status INTEGER,
  last_error TEXT,
  payload TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  UNIQUE (destination_id, source_id, message_id)
);
-- Per-profile ordering: "is an earlier event of this profile being retried at this destination?"
CREATE INDEX delivery_failures_retrying ON delivery_failures (destination_id, profile_key, event_time)
  WHERE status = 'retrying';
-- Replay: "this destination's failed/dead events since <time>".
CREATE INDEX delivery_failures_by_status ON delivery_failures (destination_id, status, created_at);
-- Erasure: "every failure of these profiles".
CREATE INDEX delivery_failures_profile_key ON delivery_failures (profile_key) WHERE profile_key IS NOT NULL;

-- How each destination's forwarding of a profile deletion stands, as the per-event log had it:
-- a failure row's status, else the batch's (done = delivered).
CREATE VIEW deletion_forwarding AS
SELECT b.destination_id, b.deletion_id,
       coalesce(f.status, CASE b.status WHEN 'done' THEN 'delivered' ELSE b.status END) AS status,
       coalesce(f.attempts, b.attempts) AS attempts,
       coalesce(f.last_status, b.last_status) AS last_status,
       coalesce(f.last_error, b.last_error) AS last_error,
       max(b.updated_at, coalesce(f.updated_at, '')) AS updated_at
FROM delivery_batches AS b
LEFT JOIN delivery_failures AS f
  ON f.destination_id = b.destination_id AND f.source_id = '' AND f.message_id = 'deletion:' || b.deletion_id
WHERE b.kind = 'deletion';

-- Moving the per-event log over. Delivered rows are history only and are dropped. Rows in flight
-- become one batch each, keyed as the consumer keys a message queued before this migration
-- (`legacy:<destination>:<source>:<messageId>`), so a message still on the queue finds its row.
-- Failed, dead and dropped rows become failure rows. Event payloads come from `events_legacy`
-- (0010 renamed `events`), with
-- the profile identity resolved (never a client's context.profileId), as replay rebuilt them.
INSERT INTO delivery_batches (batch_key, destination_id, kind, events, status, attempts, sweeps,
  last_status, last_error, body, created_at, updated_at, next_attempt_at)
SELECT 'legacy:' || d.destination_id || ':' || d.source_id || ':' || d.message_id, d.destination_id, 'events', 1,
       d.status, CASE d.status WHEN 'retrying' THEN 1 ELSE 0 END, d.sweeps, d.last_status, d.last_error,
       json_object('kind', 'events', 'destinationId', d.destination_id,
                   'batch', 'legacy:' || d.destination_id || ':' || d.source_id || ':' || d.message_id,
                   'items', json_array(json_object('sourceId', d.source_id,
                     'event', CASE WHEN e.profile_id IS NULL
                                   THEN json_remove(json(e.payload), '$.context.profileId')
                                   ELSE json_set(json(e.payload), '$.context.profileId', e.profile_id) END))),
       d.created_at, d.updated_at, d.next_attempt_at
FROM deliveries AS d JOIN events_legacy AS e ON e.source_id = d.source_id AND e.message_id = d.message_id
WHERE d.kind = 'event' AND d.status IN ('pending', 'retrying') AND json_valid(e.payload);

INSERT INTO delivery_failures (destination_id, source_id, message_id, kind, batch_key, profile_key,
  event_time, status, attempts, last_status, last_error, payload, created_at, updated_at)
SELECT d.destination_id, d.source_id, d.message_id, 'event',
       'legacy:' || d.destination_id || ':' || d.source_id || ':' || d.message_id, d.profile_key,
       d.event_time, d.status, d.attempts, d.last_status, d.last_error,
       CASE WHEN d.status = 'dropped' OR e.payload IS NULL OR NOT json_valid(e.payload) THEN NULL
            WHEN e.profile_id IS NULL THEN json_remove(json(e.payload), '$.context.profileId')
            ELSE json_set(json(e.payload), '$.context.profileId', e.profile_id) END,
       d.created_at, d.updated_at
FROM deliveries AS d LEFT JOIN events_legacy AS e ON e.source_id = d.source_id AND e.message_id = d.message_id
WHERE d.kind = 'event' AND d.status IN ('retrying', 'failed', 'dead', 'dropped');

-- Deletion forwarding: one batch per (destination, deletion), its body rebuilt from the record
-- while in flight; failed, dead and dropped ones get their failure row too.
INSERT INTO delivery_batches (batch_key, destination_id, kind, deletion_id, events, delivered,
  status, attempts, sweeps, last_status, last_error, body, created_at, updated_at, next_attempt_at, settled_at)
SELECT 'deletion:' || p.id || ':' || d.destination_id, d.destination_id, 'deletion', p.id, 1,
       d.status = 'delivered',
       CASE WHEN d.status IN ('pending', 'retrying') THEN d.status ELSE 'done' END,
       d.attempts, d.sweeps, d.last_status, d.last_error,
       CASE WHEN d.status IN ('pending', 'retrying') THEN json_object('kind', 'deletion',
         'destinationId', d.destination_id, 'batch', 'deletion:' || p.id || ':' || d.destination_id,
         'deletion', json_object('id', p.id, 'profileId', p.profile_id,
           'identities', CASE WHEN json_valid(p.identities) THEN json(p.identities) ELSE json('[]') END,
           'requestedAt', p.requested_at)) END,
       d.created_at, d.updated_at, d.next_attempt_at,
       CASE WHEN d.status IN ('pending', 'retrying') THEN NULL ELSE d.updated_at END
FROM deliveries AS d JOIN profile_deletions AS p ON d.message_id = 'deletion:' || p.id
WHERE d.kind = 'deletion';

INSERT INTO delivery_failures (destination_id, source_id, message_id, kind, batch_key, profile_key,
  event_time, status, attempts, last_status, last_error, payload, created_at, updated_at)
SELECT d.destination_id, '', d.message_id, 'deletion',
       'deletion:' || substr(d.message_id, 10) || ':' || d.destination_id, d.profile_key, d.event_time,
       d.status, d.attempts, d.last_status, d.last_error, NULL, d.created_at, d.updated_at
FROM deliveries AS d
WHERE d.kind = 'deletion' AND d.status IN ('retrying', 'failed', 'dead', 'dropped');

DROP TABLE deliveries;
