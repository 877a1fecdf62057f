-- Up Migration
-- avatar_version: the profile version that set the current avatar (its URL carries it, so each
-- upload has a URL of its own), null when there is none. last_active_at: written in batches from
-- the gateway's activity marks, at most once a minute per user; it is no change to the profile
-- (no version, no event).
ALTER TABLE profiles ADD COLUMN avatar_version bigint, ADD COLUMN last_active_at timestamptz;
-- The images apart from the profiles, so that reading profiles never drags them along.
CREATE TABLE avatars (
  user_id uuid PRIMARY KEY REFERENCES profiles (id) ON DELETE CASCADE,
  image   bytea NOT NULL
);
-- WebP is compressed already: storing it out of line without another round of compression.
ALTER TABLE avatars ALTER COLUMN image SET STORAGE EXTERNAL;

-- Down Migration
DROP TABLE avatars;
ALTER TABLE profiles DROP COLUMN last_active_at, DROP COLUMN avatar_version;
