-- Up Migration
-- The user's version (aggregateVersion of user.role_changed) the stored role comes from: a late
-- event of an older change is recognised without comparing producers' clocks. A new account is
-- version 1 of its user (user.registered).
ALTER TABLE credentials ADD COLUMN role_version bigint NOT NULL DEFAULT 1;

-- Down Migration
ALTER TABLE credentials DROP COLUMN role_version;
