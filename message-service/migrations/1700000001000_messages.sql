-- Up Migration
-- Authors' names, copied from user.registered and user.updated so members see who wrote what
-- without asking user-service. updated_at is when the event that set them occurred: an older
-- event that arrives late (a retry) does not overwrite a newer name.
CREATE TABLE authors (
  id           uuid PRIMARY KEY,
  username     text NOT NULL,
  display_name text NOT NULL,
  updated_at   timestamptz NOT NULL
);

-- No foreign key to authors: a message may arrive before its author's registration event does.
CREATE TABLE messages (
  id         uuid PRIMARY KEY,
  channel    text NOT NULL CHECK (channel ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND char_length(channel) <= 32),
  author_id  uuid NOT NULL,
  body       text NOT NULL CHECK (char_length(body) BETWEEN 1 AND 2000),
  created_at timestamptz NOT NULL DEFAULT now(),
  edited_at  timestamptz
);
-- Keyset pagination: newest first within a channel, the id breaking ties.
CREATE INDEX messages_page ON messages (channel, created_at DESC, id DESC);
-- Removing a deleted user's messages.
CREATE INDEX messages_by_author ON messages (author_id);

-- Down Migration
DROP TABLE messages;
DROP TABLE authors;
