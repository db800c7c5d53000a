-- The lifetime value is a computed trait (src/audiences/: the built-in `lifetime_value`, kept
-- in each profile's audience state like any configured trait). Each live profile's amount so
-- far moves from profiles.lifetime_value into its state, and the column goes. A state that
-- already keeps a `lifetime_value` (a configured trait of that key) keeps its own. '2ac0ce1e'
-- is the hash of the built-in definition (audiences/plan.ts); a test checks that it still is.
INSERT INTO audience_profiles (profile_id, version, state, next_check_at, updated_at)
SELECT id, 1,
  json_object('t', json_object('lifetime_value', json_object('g', 'sum', 'a', lifetime_value, 'h', '2ac0ce1e')),
    'p', json('{}'), 'g', json('{}'), 'c', NULL, 'i', NULL, 'm', json('{}'), 'r', json('[]')),
  NULL, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
FROM profiles WHERE merged_into IS NULL AND lifetime_value <> 0
ON CONFLICT (profile_id) DO UPDATE SET
  state = json_insert(audience_profiles.state, '$.t.lifetime_value', json(excluded.state -> '$.t.lifetime_value')),
  version = audience_profiles.version + 1;

ALTER TABLE profiles DROP COLUMN lifetime_value;
