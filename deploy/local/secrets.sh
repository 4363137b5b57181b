#!/usr/bin/env bash
# The local CA, the servers' TLS certificates, the Kafka principals' passwords and notifications'
# sealing key pair, generated once into $RSE_SECRETS_DIR (default .local/secrets; never
# committed): ensure|show
#
# Every local instance of a checkout (the developer's servers, the fault suite's own) uses the
# same CA and credentials, so that one set of client settings reaches any of them. Rotate a
# password by deleting its file (kafka/<principal>.password) and restarting Kafka; rotate
# everything by deleting the directory (the brokers' SCRAM users follow on their next start).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CA_KEY="$SECRETS_DIR/ca.key"
CA_CRT="$SECRETS_DIR/ca.crt"

# The principals: one per service, the auditor and the admin (rse_shared.acl.principals).
PRINCIPALS=(identity consent records requests benefits notifications auditor admin)

ensure_ca() {
  [[ -s "$CA_CRT" && -s "$CA_KEY" ]] && return 0
  log "creating the local CA in $SECRETS_DIR"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=RSE local CA" \
    -keyout "$CA_KEY" -out "$CA_CRT" 2>/dev/null
  chmod 600 "$CA_KEY"
}

# ensure_server_cert NAME CN HOST: NAME.key + NAME.crt signed by the CA, for 127.0.0.1, localhost
# and HOST (the server's name in docker-compose.yml).
ensure_server_cert() {
  local name="$1" cn="$2" host="$3" key="$SECRETS_DIR/$1.key" crt="$SECRETS_DIR/$1.crt" ext
  if [[ -s "$crt" && -s "$key" ]] && openssl verify -CAfile "$CA_CRT" "$crt" >/dev/null 2>&1 \
      && openssl x509 -in "$crt" -noout -text | grep -qF "DNS:$host"; then
    return 0
  fi
  log "creating the $name certificate (CN=$cn, SAN 127.0.0.1, localhost, $host)"
  ext="$(mktemp)"
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:%s\nextendedKeyUsage=serverAuth,clientAuth\n' \
    "$host" >"$ext"
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$cn" -keyout "$key" -out "$key.csr" 2>/dev/null
  openssl x509 -req -in "$key.csr" -CA "$CA_CRT" -CAkey "$CA_KEY" -CAcreateserial -days 825 \
    -extfile "$ext" -out "$crt" 2>/dev/null
  rm -f "$key.csr" "$ext"
  # Kafka's PEM key store reads PKCS#8; the key is re-written in that form.
  openssl pkcs8 -topk8 -nocrypt -in "$key" -out "$key.p8"
  mv "$key.p8" "$key"
  chmod 600 "$key"
}

ensure_passwords() {
  local p file
  mkdir -p "$SECRETS_DIR/kafka"
  chmod 700 "$SECRETS_DIR/kafka"
  for p in "${PRINCIPALS[@]}"; do
    file="$SECRETS_DIR/kafka/$p.password"
    [[ -s "$file" ]] && continue
    (umask 077 && openssl rand -hex 24 >"$file")
  done
}

# notifications' X25519 key pair: records and identity seal what they hand it (prescription
# codes, contacts) to the public key; only notifications holds the private one.
ensure_seal_keys() {
  local key="$SECRETS_DIR/notifications_seal.key" pub="$SECRETS_DIR/notifications_seal.pub"
  [[ -s "$key" && -s "$pub" ]] && return 0
  log "creating notifications' sealing key pair (X25519)"
  (umask 077 && openssl genpkey -algorithm X25519 -out "$key" 2>/dev/null)
  openssl pkey -in "$key" -pubout -out "$pub" 2>/dev/null
}

# Mailpit's SMTP credentials for notifications (Mailpit's auth file takes "user:password").
ensure_smtp_credentials() {
  local dir="$SECRETS_DIR/mailpit"
  mkdir -p "$dir"
  chmod 700 "$dir"
  [[ -s "$dir/smtp.password" && -s "$dir/smtp.credentials" ]] && return 0
  (umask 077 && openssl rand -hex 24 >"$dir/smtp.password")
  (umask 077 && printf 'notifications:%s\n' "$(cat "$dir/smtp.password")" >"$dir/smtp.credentials")
}

# Encryption at rest (rse_shared.keyring): the key-encryption key that wraps the citizens'
# data keys, and each service's store key; 32 random bytes, base64.
ensure_data_keys() {
  local dir="$SECRETS_DIR/keys" file name
  mkdir -p "$dir" "$SECRETS_DIR/postgres"
  chmod 700 "$dir" "$SECRETS_DIR/postgres"
  # Each service's own role in the key database (rse_shared.key_access).
  for name in identity consent records requests benefits notifications auditor; do
    file="$SECRETS_DIR/postgres/keys-$name.password"
    [[ -s "$file" ]] || (umask 077 && openssl rand -hex 24 >"$file")
  done
  for name in data.kek identity.store consent.store records.store requests.store \
    benefits.store notifications.store; do
    file="$dir/$name"
    [[ -s "$file" ]] && continue
    (umask 077 && openssl rand -base64 32 >"$file")
  done
}

do_ensure() {
  need_cmd openssl
  mkdir -p "$SECRETS_DIR"
  chmod 700 "$SECRETS_DIR"
  ensure_ca
  ensure_server_cert kafka-broker rse-kafka-broker kafka
  ensure_server_cert postgres localhost postgres
  ensure_server_cert mailpit localhost mailpit
  ensure_passwords
  ensure_seal_keys
  ensure_smtp_credentials
  ensure_data_keys
}

case "${1:-}" in
  ensure) take_lock secrets; do_ensure ;;
  show) echo "$SECRETS_DIR" ;;
  *) echo "usage: $0 {ensure|show}" >&2; exit 2 ;;
esac
