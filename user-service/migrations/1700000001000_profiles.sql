-- Up Migration
-- One profile per registered account; the id is the account id from auth-service's user.registered.
CREATE TABLE profiles (
  id           uuid PRIMARY KEY,
  email        text NOT NULL,
  username     text NOT NULL,
  display_name text NOT NULL,
  role         text NOT NULL CHECK (role IN ('user', 'member', 'admin')),
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);
-- Keyset pagination of the admin listing.
CREATE INDEX profiles_by_creation ON profiles (created_at, id);
-- The last-admin rule locks every admin row; keep finding them cheap.
CREATE INDEX profiles_admins ON profiles (id) WHERE role = 'admin';

-- Down Migration
DROP TABLE profiles;
