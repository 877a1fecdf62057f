#!/bin/sh
# The alertmanager container's entrypoint: Alertmanager reads no environment variables, so this
# writes its configuration from them, then runs the command (the alertmanager server). Values are
# written as YAML double-quoted strings, so any character but a line break is safe.
#
#   ALERT_WEBHOOK_URL        where every notification is POSTed (Alertmanager's webhook format)
#   ALERT_EMAIL_TO           who gets every notification by email; with it:
#     ALERT_EMAIL_FROM, ALERT_SMTP_SMARTHOST (host:port), ALERT_SMTP_USERNAME, ALERT_SMTP_PASSWORD
#   ALERT_RECEIVER_REQUIRED  "true": refuse to start with neither a webhook nor an email address
#   ALERTMANAGER_CONFIG      where to write the configuration (default /tmp/alertmanager.yml)
set -eu
config=${ALERTMANAGER_CONFIG:-/tmp/alertmanager.yml}

fail() {
  echo "board-alertmanager: $*" >&2
  exit 64
}

# A YAML double-quoted scalar of $1 (line breaks are refused below, before anything is written).
quoted() {
  printf '"%s"' "$(printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')"
}

for name in ALERT_WEBHOOK_URL ALERT_EMAIL_TO ALERT_EMAIL_FROM ALERT_SMTP_SMARTHOST ALERT_SMTP_USERNAME ALERT_SMTP_PASSWORD; do
  eval "value=\${$name:-}"
  case $value in *'
'*) fail "$name holds a line break" ;; esac
done

webhook=${ALERT_WEBHOOK_URL:-}
email=${ALERT_EMAIL_TO:-}
if [ -z "$webhook" ] && [ -z "$email" ]; then
  [ "${ALERT_RECEIVER_REQUIRED:-false}" != true ] || fail "set ALERT_WEBHOOK_URL or ALERT_EMAIL_TO: alerts would reach nobody"
  echo "board-alertmanager: neither ALERT_WEBHOOK_URL nor ALERT_EMAIL_TO is set; alerts reach nobody" >&2
fi
if [ -n "$email" ]; then
  for name in ALERT_EMAIL_FROM ALERT_SMTP_SMARTHOST; do
    eval "value=\${$name:-}"
    [ -n "$value" ] || fail "ALERT_EMAIL_TO is set, so $name is required"
  done
fi

{
  cat <<'YAML'
# Written by board-alertmanager's entrypoint from the environment; see alertmanager/entrypoint.sh.
route:
  receiver: oncall
  # One notification per alert and service; critical alerts go out sooner and repeat hourly.
  group_by: [alertname, service]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
  routes:
    - matchers: [ 'severity="critical"' ]
      receiver: oncall
      group_wait: 10s
      repeat_interval: 1h

inhibit_rules:
  # A service that is down is slow and failing too: its own alert says all there is to say.
  - source_matchers: [ 'alertname=~"ServiceDown|ServiceGone"' ]
    target_matchers: [ 'alertname=~"SlowRequests|HighErrorRate"' ]
    equal: [ service ]
  # With the broker down, every outbox fills and every queue stands still.
  - source_matchers: [ 'alertname="DependencyDown"', 'job="rabbitmq"' ]
    target_matchers: [ 'alertname=~"OutboxBacklog|OutboxStale|ConsumerStuck"' ]
  # With PostgreSQL or Redis down, consumers wait for them by design.
  - source_matchers: [ 'alertname="DependencyDown"', 'job=~"postgres|redis"' ]
    target_matchers: [ 'alertname="ConsumerWaitingForDependency"' ]

receivers:
  - name: oncall
YAML
  if [ -n "$webhook" ]; then
    printf '    webhook_configs:\n'
    printf '      - url: %s\n' "$(quoted "$webhook")"
    printf '        send_resolved: true\n'
  fi
  if [ -n "$email" ]; then
    printf '    email_configs:\n'
    printf '      - to: %s\n' "$(quoted "$email")"
    printf '        from: %s\n' "$(quoted "$ALERT_EMAIL_FROM")"
    printf '        smarthost: %s\n' "$(quoted "$ALERT_SMTP_SMARTHOST")"
    if [ -n "${ALERT_SMTP_USERNAME:-}" ]; then
      printf '        auth_username: %s\n' "$(quoted "$ALERT_SMTP_USERNAME")"
      printf '        auth_password: %s\n' "$(quoted "${ALERT_SMTP_PASSWORD:-}")"
    fi
    printf '        send_resolved: true\n'
  fi
} > "$config"

exec "$@"
