-- Up Migration
-- Upkeep deletes handled-event ids by age.
CREATE INDEX processed_events_processed_at ON processed_events (processed_at);

-- Down Migration
DROP INDEX processed_events_processed_at;
