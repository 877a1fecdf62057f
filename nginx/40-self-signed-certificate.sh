#!/bin/sh
# Creates a self-signed certificate for $SERVER_NAME unless one is already in $TLS_CERT_DIR.
set -eu
dir="${TLS_CERT_DIR:-/etc/nginx/certs}"
if [ -s "$dir/tls.crt" ] && [ -s "$dir/tls.key" ]; then
  exit 0
fi
mkdir -p "$dir"
name="${SERVER_NAME:-localhost}"
openssl req -x509 -newkey rsa:2048 -nodes -days 825 \
  -keyout "$dir/tls.key" -out "$dir/tls.crt" \
  -subj "/CN=$name" -addext "subjectAltName=DNS:$name,DNS:localhost,IP:127.0.0.1" 2>/dev/null
chmod 600 "$dir/tls.key"
echo "$0: generated a self-signed certificate for $name in $dir"
