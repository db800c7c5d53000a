-- Identity resolution: one profile per person, built from the identifiers events carry.
-- The resolver (src/identity/) writes every change of one queue batch in one D1 batch, so each
-- batch is a transaction; see src/identity/resolve.ts for the concurrency rules.

-- A profile. `merged_into` is set when another profile absorbed this one; it always names a live
-- (unmerged) profile, because a merge re-points the rows that named the absorbed profile.
-- `version` changes whenever the profile's identities change (attach, merge, absorbed): a
-- resolver that planned against an older version must start again. Traits live in
-- profile_traits (one row per trait, for last-write-wins per key); the computed traits are here.
CREATE TABLE profiles (
  id TEXT PRIMARY KEY,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  merged_into TEXT,
  version INTEGER NOT NULL DEFAULT 0,
  first_seen TEXT,
  last_seen TEXT,
  lifetime_value REAL NOT NULL DEFAULT 0
);
CREATE INDEX profiles_merged_into ON profiles (merged_into) WHERE merged_into IS NOT NULL;

-- An identifier (user_id, anonymous_id, or a trait such as email) and the profile that holds it.
-- The primary key is what makes two resolvers that both saw an identifier as new collide.
CREATE TABLE identities (
  type TEXT NOT NULL,
  value TEXT NOT NULL,
  profile_id TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (type, value)
) WITHOUT ROWID;
CREATE INDEX identities_profile_id ON identities (profile_id, type);

-- identify traits; `updated_at` is the timestamp of the event that set the value.
CREATE TABLE profile_traits (
  profile_id TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL, -- JSON
  updated_at TEXT NOT NULL,
  PRIMARY KEY (profile_id, key)
) WITHOUT ROWID;

-- Events per Segment call type, per profile.
CREATE TABLE profile_event_counts (
  profile_id TEXT NOT NULL,
  type TEXT NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (profile_id, type)
) WITHOUT ROWID;

-- The groups (accounts, companies) a profile belongs to, and each group's own traits.
CREATE TABLE profile_groups (
  profile_id TEXT NOT NULL,
  group_id TEXT NOT NULL,
  first_seen TEXT NOT NULL,
  last_seen TEXT NOT NULL,
  PRIMARY KEY (profile_id, group_id)
) WITHOUT ROWID;
CREATE TABLE group_traits (
  group_id TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL, -- JSON
  updated_at TEXT NOT NULL,
  PRIMARY KEY (group_id, key)
) WITHOUT ROWID;

-- Who absorbed whom, when, and because of which event. A profile is absorbed at most once.
CREATE TABLE profile_merges (
  id INTEGER PRIMARY KEY,
  survivor_id TEXT NOT NULL,
  absorbed_id TEXT NOT NULL UNIQUE,
  source_id TEXT NOT NULL,
  message_id TEXT NOT NULL,
  merged_at TEXT NOT NULL
);
CREATE INDEX profile_merges_survivor_id ON profile_merges (survivor_id);

-- Merges (or identifier attachments) refused because a profile would exceed a limit, such as
-- a second user_id: the event went to `profile_id` instead. `refused_profile_id` is '' when an
-- identifier was refused rather than a merge. Unique per event, so redelivery adds nothing.
CREATE TABLE identity_refusals (
  id INTEGER PRIMARY KEY,
  source_id TEXT NOT NULL,
  message_id TEXT NOT NULL,
  profile_id TEXT NOT NULL,
  refused_profile_id TEXT NOT NULL,
  identifier_type TEXT NOT NULL,
  reason TEXT NOT NULL,
  created_at TEXT NOT NULL,
  UNIQUE (source_id, message_id, refused_profile_id, identifier_type)
);
CREATE INDEX identity_refusals_profile_id ON identity_refusals (profile_id);
CREATE INDEX identity_refusals_refused_profile_id ON identity_refusals (refused_profile_id);

-- Identifiers of deleted profiles. Only a SHA-256 of "type\nvalue" is kept, so the erased
-- identifiers are not stored in the clear; events carrying one are dropped and counted here
-- for as long as their source's identity.suppressionDays says.
CREATE TABLE identity_suppressions (
  key_hash TEXT PRIMARY KEY,
  deleted_at TEXT NOT NULL,
  dropped_events INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- Optimistic concurrency: a resolver's write batch starts by inserting one row here whose `ok`
-- says whether every profile it planned against is unchanged; a 0 fails the CHECK and rolls
-- the whole batch back. The batch deletes its row before it ends, so the table stays empty.
CREATE TABLE resolution_guard (
  ok INTEGER NOT NULL,
  CONSTRAINT profiles_unchanged CHECK (ok = 1)
);

-- The canonical profile of each stored event (NULL until resolved, or when the event carries no
-- usable identifier).
ALTER TABLE events ADD COLUMN profile_id TEXT;
CREATE INDEX events_profile_id ON events (profile_id, timestamp) WHERE profile_id IS NOT NULL;
