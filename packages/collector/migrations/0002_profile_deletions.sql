-- Right-to-erasure requests, written when a profile is deleted and read by the destinations
-- that support deletion. `identities` is a JSON array of {"type": …, "value": …} pairs the
-- deleted profile held (user_id, anonymous_id, email, …), so destinations can find their copy.
CREATE TABLE profile_deletions (
  id INTEGER PRIMARY KEY,
  profile_id TEXT NOT NULL,
  identities TEXT NOT NULL,
  requested_at TEXT NOT NULL
);
