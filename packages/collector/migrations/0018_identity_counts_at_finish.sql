-- Identity's counters (events per profile and type, dropped events per suppression) are now
-- added in the EVENTS consumer's finish transaction, with the row that marks the queue message
-- finished (src/identity/tally.ts): a redelivery finds either the message finished or nothing
-- of it counted. The per-message record of counted events is no longer written or read.
--
-- A message that was resolved but not finished when this migration ran is counted again when
-- it is redelivered: the counters of its events may be one too high. Nothing else depends on it.
DROP TABLE identity_applied;
