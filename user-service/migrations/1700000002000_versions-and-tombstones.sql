-- Up Migration
-- How many changes each profile has had (1 when registered): carried by every user.* event as
-- aggregateVersion, so consumers keep the latest whatever order events arrive in.
ALTER TABLE profiles ADD COLUMN version bigint NOT NULL DEFAULT 1;
-- Deleted users: a late or redelivered user.registered must not bring a profile back.
CREATE TABLE deleted_profiles (
  id         uuid PRIMARY KEY,
  deleted_at timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE deleted_profiles;
ALTER TABLE profiles DROP COLUMN version;
