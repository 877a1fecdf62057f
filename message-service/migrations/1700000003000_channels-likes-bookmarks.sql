-- Up Migration
-- The channel list, kept with the writes (in the transaction that posts or deletes a message) so
-- that listing channels never counts the messages table.
CREATE TABLE channels (
  name            text PRIMARY KEY,
  message_count   integer NOT NULL CHECK (message_count >= 0),
  last_message_at timestamptz NOT NULL
);
CREATE INDEX channels_by_activity ON channels (last_message_at DESC, name);
INSERT INTO channels (name, message_count, last_message_at)
  SELECT channel, count(*), max(created_at) FROM messages GROUP BY channel;

-- Likes: one row per (message, user); like_count is kept with them, under the message's row lock,
-- so that it is exact however many like at once and a page read never counts.
CREATE TABLE likes (
  message_id uuid NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
  user_id    uuid NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (message_id, user_id)
);
-- Removing a deleted user's likes.
CREATE INDEX likes_by_user ON likes (user_id);
ALTER TABLE messages ADD COLUMN like_count integer NOT NULL DEFAULT 0 CHECK (like_count >= 0);

-- Bookmarks: a deleted message leaves every list with its row (the foreign key); a deleted
-- user's go with the user.deleted event.
CREATE TABLE bookmarks (
  user_id    uuid NOT NULL,
  message_id uuid NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, message_id)
);
-- Keyset pagination of one user's bookmarks, newest first.
CREATE INDEX bookmarks_page ON bookmarks (user_id, created_at DESC, message_id DESC);
-- The cascade from a deleted message.
CREATE INDEX bookmarks_by_message ON bookmarks (message_id);

-- Down Migration
DROP TABLE bookmarks;
ALTER TABLE messages DROP COLUMN like_count;
DROP TABLE likes;
DROP TABLE channels;
