#!/bin/sh
# The certbot service of docker-compose.prod.yml.
#
# TLS_MODE=letsencrypt: obtains a certificate for SERVER_NAME by ACME HTTP-01 (certbot writes the
# challenge into ACME_WEBROOT, which nginx serves on port 80), installs it for nginx (deploy-hook.sh),
# then runs `certbot renew` every RENEW_INTERVAL_SECONDS (12 h; certbot renews a certificate within
# 30 days of its expiry, and installs it again through the same hook).
# TLS_MODE=self-signed: does nothing; nginx keeps the self-signed certificate it made on first start
# (a CI run of the production file, or a host without a public name).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
mode=${TLS_MODE:-letsencrypt}
renew_interval=${RENEW_INTERVAL_SECONDS:-43200}
# Let's Encrypt allows 5 failed validations per host name and hour: one quick retry (nginx may have
# been starting), then one every 15 minutes.
first_retry=${ACME_FIRST_RETRY_SECONDS:-60}
retry_interval=${ACME_RETRY_SECONDS:-900}

log() { echo "certbot-service: $*"; }

# Waits in a child process, so that `docker compose stop` (SIGTERM) ends the wait at once.
sleeper=''
trap '[ -z "$sleeper" ] || kill "$sleeper" 2>/dev/null; exit 0' TERM INT
pause() {
  sleep "$1" &
  sleeper=$!
  wait "$sleeper" || true
  sleeper=''
}

case "$mode" in
  self-signed)
    log "TLS_MODE=self-signed: nginx serves its self-signed certificate; nothing to obtain"
    while :; do pause 86400; done
    ;;
  letsencrypt) ;;
  *)
    log "TLS_MODE must be letsencrypt or self-signed, not \"$mode\"" >&2
    exit 1
    ;;
esac

: "${SERVER_NAME:?SERVER_NAME is the host name to get a certificate for}"
if [ -z "${ACME_EMAIL:-}" ]; then
  log "ACME_EMAIL is required with TLS_MODE=letsencrypt (Let's Encrypt writes there before a certificate expires)" >&2
  exit 1
fi

# Options every certbot command here takes; ACME_SERVER (e.g. Let's Encrypt's staging directory)
# replaces the production directory.
set -- --non-interactive \
  --config-dir "${LETSENCRYPT_DIR:-/etc/letsencrypt}" \
  --work-dir "${CERTBOT_WORK_DIR:-/var/lib/letsencrypt}" \
  --logs-dir "${CERTBOT_LOGS_DIR:-/var/log/letsencrypt}" \
  --deploy-hook "sh $here/deploy-hook.sh"
if [ -n "${ACME_SERVER:-}" ]; then set -- "$@" --server "$ACME_SERVER"; fi

lineage="${LETSENCRYPT_DIR:-/etc/letsencrypt}/live/$SERVER_NAME"
if [ -s "$lineage/fullchain.pem" ]; then
  # Obtained before: install it again, in case the certificate volume was recreated since.
  RENEWED_LINEAGE=$lineage sh "$here/deploy-hook.sh"
else
  delay=$first_retry
  until certbot certonly "$@" --webroot --webroot-path "${ACME_WEBROOT:-/var/www/acme}" \
    --cert-name "$SERVER_NAME" --domain "$SERVER_NAME" --email "$ACME_EMAIL" --agree-tos --no-eff-email; do
    log "could not obtain a certificate for $SERVER_NAME (does its DNS point here, and port 80 reach nginx?); trying again in ${delay}s"
    pause "$delay"
    delay=$retry_interval
  done
fi

while :; do
  pause "$renew_interval"
  certbot renew "$@" || log "renewal failed; certbot tries again in ${renew_interval}s"
done
