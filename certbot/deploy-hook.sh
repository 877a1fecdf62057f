#!/bin/sh
# certbot's deploy hook: installs the certificate certbot has just obtained or renewed where nginx
# reads it (TLS_CERT_DIR: tls.crt and tls.key). Each file is written beside its final name and then
# renamed over it, so nginx never reads half a file; the key goes first, and nginx's watcher
# reloads only once `nginx -t` accepts the pair, that is once the certificate has followed.
set -eu

lineage=${RENEWED_LINEAGE:?certbot names the certificate directory in RENEWED_LINEAGE}
dir=${TLS_CERT_DIR:-/etc/nginx/certs}

if cmp -s "$lineage/privkey.pem" "$dir/tls.key" && cmp -s "$lineage/fullchain.pem" "$dir/tls.crt"; then
  echo "deploy-hook: $dir already holds the certificate of $lineage"
  exit 0
fi
umask 077
cat "$lineage/privkey.pem" >"$dir/.tls.key.new"
cat "$lineage/fullchain.pem" >"$dir/.tls.crt.new"
chmod 644 "$dir/.tls.crt.new"
mv -f "$dir/.tls.key.new" "$dir/tls.key"
mv -f "$dir/.tls.crt.new" "$dir/tls.crt"
echo "deploy-hook: installed the certificate of $lineage in $dir"
