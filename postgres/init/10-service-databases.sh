#!/bin/sh
# One PostgreSQL role per service, owning that service's database and nothing else: no other role
# (but the superuser) may connect to it. The official postgres image runs this once, when it
# initialises an empty data directory; a password changed later does not reach an existing volume.
#
# Each role is named after its database; its password comes from the variable beside it. It is
# read inside psql (\getenv), so it never appears on a command line, and quoted there as a literal
# (:'password'), so it may hold any character.
set -eu

databases='auth:AUTH_DATABASE_PASSWORD users:USERS_DATABASE_PASSWORD messages:MESSAGES_DATABASE_PASSWORD'

# All checked before anything is created: a half-initialised data directory is never initialised again.
missing=''
for entry in $databases; do
  [ -n "$(printenv "${entry#*:}" || true)" ] || missing="$missing ${entry#*:}"
done
if [ -n "$missing" ]; then
  echo "$0: not set:$missing (the passwords of the services' database roles)" >&2
  exit 1
fi

for entry in $databases; do
  psql --no-psqlrc --quiet -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "${POSTGRES_DB:-$POSTGRES_USER}" \
    -v database="${entry%%:*}" -v password_variable="${entry#*:}" <<'SQL'
\getenv password :password_variable
CREATE ROLE :"database" LOGIN PASSWORD :'password';
CREATE DATABASE :"database" OWNER :"database";
REVOKE ALL ON DATABASE :"database" FROM PUBLIC;
SQL
  echo "$0: database ${entry%%:*}, owned by the role of the same name"
done
