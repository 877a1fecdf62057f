#!/bin/sh
# The role postgres-exporter connects as: a member of pg_monitor, which reads every statistics
# view, setting and database size, and nothing else (no table of any service, not even a
# connection to their databases, which grant CONNECT to their owners only). Run once by the
# official image after 10-service-databases.sh, like it; its password is read inside psql, as
# there. Compose always sets the variable (a development default, required in production), so
# this script cannot stop an initialisation halfway.
set -eu

if [ -z "${MONITORING_DATABASE_PASSWORD:-}" ]; then
  echo "$0: not set: MONITORING_DATABASE_PASSWORD (the password of the exporter's role)" >&2
  exit 1
fi

psql --no-psqlrc --quiet -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "${POSTGRES_DB:-$POSTGRES_USER}" <<'SQL'
\getenv password MONITORING_DATABASE_PASSWORD
CREATE ROLE monitoring LOGIN PASSWORD :'password' IN ROLE pg_monitor;
SQL
echo "$0: role monitoring (pg_monitor), for the exporter"
