-- Up Migration
-- A new key is published (in the JWKS) some time before it starts signing, so every verifier
-- knows it before the first token it signed arrives. Until then the previous key keeps signing:
-- two keys may be unretired at once.
ALTER TABLE signing_keys ADD COLUMN activates_at timestamptz;
UPDATE signing_keys SET activates_at = created_at;
ALTER TABLE signing_keys ALTER COLUMN activates_at SET NOT NULL, ALTER COLUMN activates_at SET DEFAULT now();
DROP INDEX signing_keys_one_active;

-- Down Migration
DELETE FROM signing_keys WHERE activates_at > now();
UPDATE signing_keys SET retired_at = now()
 WHERE retired_at IS NULL AND activates_at < (SELECT max(activates_at) FROM signing_keys WHERE retired_at IS NULL);
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys ((retired_at IS NULL)) WHERE retired_at IS NULL;
ALTER TABLE signing_keys DROP COLUMN activates_at;
