-- Up Migration
-- One row per account. Email and username are stored lower-cased so uniqueness ignores case.
CREATE TABLE credentials (
  user_id             uuid PRIMARY KEY,
  email               text NOT NULL CONSTRAINT credentials_email_key UNIQUE CHECK (email = lower(email)),
  username            text NOT NULL CONSTRAINT credentials_username_key UNIQUE CHECK (username = lower(username)),
  display_name        text NOT NULL,
  password_hash       text NOT NULL,
  role                text NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'member', 'admin')),
  -- When the role last changed, so a late (retried) user.role_changed cannot undo a newer one.
  role_changed_at     timestamptz,
  created_at          timestamptz NOT NULL DEFAULT now(),
  password_changed_at timestamptz NOT NULL DEFAULT now()
);

-- A session is one device's refresh-token family; its id is the `sid` claim of access tokens.
CREATE TABLE sessions (
  id           uuid PRIMARY KEY,
  user_id      uuid NOT NULL REFERENCES credentials (user_id) ON DELETE CASCADE,
  user_agent   text NOT NULL,
  ip           text,
  -- sha256 of the session's current CSRF token; the token itself lives only in the client's cookie.
  csrf_hash    text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  revoked_at   timestamptz
);
CREATE INDEX sessions_live_by_user ON sessions (user_id) WHERE revoked_at IS NULL;
CREATE INDEX sessions_expires_at ON sessions (expires_at);
CREATE INDEX sessions_revoked_at ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;

-- Every refresh token a session was given, as sha256 only. Rotated ones are kept to detect reuse.
CREATE TABLE refresh_tokens (
  token_hash text PRIMARY KEY,
  session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  rotated_at timestamptz
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

-- RS256 keys. The private key is AES-256-GCM encrypted; at most one key is active (not retired).
CREATE TABLE signing_keys (
  kid                   text PRIMARY KEY,
  public_jwk            jsonb NOT NULL,
  private_key_encrypted text NOT NULL,
  created_at            timestamptz NOT NULL DEFAULT now(),
  retired_at            timestamptz
);
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys ((retired_at IS NULL)) WHERE retired_at IS NULL;

-- Down Migration
DROP TABLE signing_keys;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
DROP TABLE credentials;
