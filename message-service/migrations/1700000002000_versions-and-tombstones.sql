-- Up Migration
-- How many changes each message has had (1 when posted): carried by every message.* event as
-- aggregateVersion.
ALTER TABLE messages ADD COLUMN version bigint NOT NULL DEFAULT 1;
-- The user version (user.* aggregateVersion) the stored names come from; null for names recorded
-- before versions existed, which are then ordered by time as before.
ALTER TABLE authors ADD COLUMN version bigint;
-- Users deleted on the board: a late user.registered or user.updated must not bring an author
-- back, and a post that was already past the gateway must not leave a message behind.
CREATE TABLE deleted_users (
  id         uuid PRIMARY KEY,
  deleted_at timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE deleted_users;
ALTER TABLE authors DROP COLUMN version;
ALTER TABLE messages DROP COLUMN version;
