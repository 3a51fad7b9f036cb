#!/usr/bin/env bash
# Create every credential docker-compose.yml reads, into deploy/compose/secrets/ (git-ignored,
# never committed). Run once before the first `docker compose up`; existing files are kept, so
# re-running only adds what is missing (e.g. passwords for newly added principals).
#
#   deploy/compose/make-credentials.sh [EXTERNAL_HOST]
#
# EXTERNAL_HOST (default localhost) is the name partners' connectors use to reach the
# published EXTERNAL listener; it goes into the brokers' certificate.
# HUB (default .venv/bin/hub) lists the principals: one SCRAM password each.
set -euo pipefail
cd "$(dirname "$0")"
HUB="${HUB:-../../.venv/bin/hub}"
EXTERNAL_HOST="${1:-localhost}"
out=secrets
mkdir -p "$out/kafka-users"
chmod 700 "$out"
# Files are bind-mounted into containers that run as other users, so they must be
# readable there; the 0700 folder is what keeps other users of this machine out.
umask 022

new() { [[ ! -s "$out/$1" ]]; }
random_into() { new "$1" && openssl rand -hex 24 >"$out/$1" || true; }

# Certificate authority and the brokers' certificate (one for all three nodes).
if new kafka-ca.crt; then
  openssl req -x509 -new -nodes -newkey rsa:3072 -days 825 -subj "/CN=partner-hub-ca" \
    -keyout "$out/kafka-ca.key" -out "$out/kafka-ca.crt" 2>/dev/null
fi
if new kafka-broker.pem; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  openssl req -new -nodes -newkey rsa:3072 -subj "/CN=kafka-broker" \
    -keyout "$tmp/broker.key" -out "$tmp/broker.csr" 2>/dev/null
  san="DNS:kafka-1,DNS:kafka-2,DNS:kafka-3,DNS:localhost"
  [[ "$EXTERNAL_HOST" == localhost ]] || san="$san,DNS:$EXTERNAL_HOST"
  printf 'subjectAltName=%s\n' "$san" >"$tmp/san.ext"
  printf 'extendedKeyUsage=serverAuth,clientAuth\n' >>"$tmp/san.ext"
  openssl x509 -req -in "$tmp/broker.csr" -CA "$out/kafka-ca.crt" -CAkey "$out/kafka-ca.key" \
    -CAcreateserial -days 825 -extfile "$tmp/san.ext" -out "$tmp/broker.crt" 2>/dev/null
  # Kafka's PEM key store: the PKCS#8 key followed by the certificate chain.
  openssl pkcs8 -topk8 -nocrypt -in "$tmp/broker.key" >"$out/kafka-broker.pem"
  cat "$tmp/broker.crt" "$out/kafka-ca.crt" >>"$out/kafka-broker.pem"
fi
chmod 600 "$out/kafka-ca.key"

# KRaft cluster id: 16 random bytes, URL-safe base64 without padding.
new kafka-cluster-id && openssl rand 16 | base64 | tr '+/' '-_' | tr -d '=\n' \
  >"$out/kafka-cluster-id"

random_into kafka-admin-password
random_into postgres-password
random_into audit-db-password
random_into registry-db-password
new audit-db-url && printf 'postgresql+psycopg://hub_audit:%s@postgres:5432/audit' \
  "$(<"$out/audit-db-password")" >"$out/audit-db-url"

# One pseudonymisation key per linkage domain: 32 random bytes, base64.
for domain in $("$HUB" deploy plan --json | python3 -c \
  'import json,sys; print(" ".join(json.load(sys.stdin)["linkage_domains"]))'); do
  new "pseudonym-key-$domain" && openssl rand -base64 32 | tr -d '\n' \
    >"$out/pseudonym-key-$domain"
done

# A SCRAM password for every principal in the plan (partners' are handed to them).
for principal in $("$HUB" deploy plan --json | python3 -c \
  'import json,sys; print(" ".join(p["name"] for p in json.load(sys.stdin)["principals"]))'); do
  random_into "kafka-users/$principal.password"
done
echo "secrets ready in $(pwd)/$out"
