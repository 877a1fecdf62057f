-- Up Migration
-- The author's versioned avatar URL from user.updated; null when they have none (or no event has
-- said yet). Shown with the author, so only to those who see authors.
ALTER TABLE authors ADD COLUMN avatar_url text;

-- Down Migration
ALTER TABLE authors DROP COLUMN avatar_url;
