#!/usr/bin/env bash
# Local infrastructure (PostgreSQL, Kafka, FerretDB, Mailpit, Keycloak; HAPI FHIR's validator built) for dev and tests on 127.0.0.1: up|down|status|env
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SERVICES=(postgres kafka ferretdb mailpit)
# Keycloak, the OpenID Connect provider, unless RSE_LOCAL_KEYCLOAK=off (the fault suite's own
# servers run no identity provider; its flows register at the counter).
[[ "${RSE_LOCAL_KEYCLOAK:-on}" == off ]] || SERVICES+=(keycloak)
keycloak_on() { [[ " ${SERVICES[*]} " == *" keycloak "* ]]; }

address_of() {
  case "$1" in
    postgres) echo "$HOST:$PG_PORT" ;;
    kafka) echo "$HOST:$KAFKA_PORT" ;;
    ferretdb) echo "$HOST:$FERRETDB_PORT" ;;
    mailpit) echo "$HOST:$MAILPIT_SMTP_PORT (UI http://$HOST:$MAILPIT_HTTP_PORT/)" ;;
    keycloak) echo "http://$HOST:$KEYCLOAK_PORT/realms/rse (OpenID Connect issuer)" ;;
  esac
}

# Environment variables the Python services read (eval "$(deploy/local/infra.sh env)").
print_env() {
  cat <<EOF
export RSE_POSTGRES_HOST=$HOST
export RSE_POSTGRES_PORT=$PG_PORT
export RSE_POSTGRES_USER=$PG_USER
export RSE_POSTGRES_PASSWORD=$PG_PASSWORD
# append /<database>: ${PG_DATABASES[*]}
export RSE_POSTGRES_DSN=postgresql://$PG_USER:$PG_PASSWORD@$HOST:$PG_PORT
# TCP connections to PostgreSQL take TLS only (libpq's own variables, for psql and the DSN).
export PGSSLMODE=verify-full
export PGSSLROOTCERT=$SECRETS_DIR/ca.crt
export RSE_KAFKA_BOOTSTRAP=$HOST:$KAFKA_PORT
# The CA and the principals' passwords (kafka/<principal>.password) of these servers.
export RSE_SECRETS_DIR=$SECRETS_DIR
export RSE_MONGO_URL=mongodb://$HOST:$FERRETDB_PORT/
export RSE_SMTP_HOST=$HOST
export RSE_SMTP_PORT=$MAILPIT_SMTP_PORT
export RSE_MAILPIT_API=http://$HOST:$MAILPIT_HTTP_PORT
EOF
  if keycloak_on; then
    cat <<EOF
export RSE_OIDC_ISSUER=http://$HOST:$KEYCLOAK_PORT/realms/rse
export RSE_OIDC_CLIENT_ID=rse-identity
EOF
  fi
}

do_up() {
  local started=$SECONDS pg_pid kafka_pid ferret_pid mailpit_pid keycloak_pid="" rc=0
  # Keycloak takes the longest (about 65 s the first time, 20-40 s after): started first, in
  # the background, and waited for last. Not yet installed, it is fetched with Maven after
  # Kafka's and the validator's Maven runs (one at a time in the local repository).
  if keycloak_on && "$DEPLOY_DIR/keycloak.sh" installed; then
    "$DEPLOY_DIR/keycloak.sh" start &
    keycloak_pid=$!
  fi
  # PostgreSQL, Kafka and the FerretDB build (about a minute when Go's build cache is cold) are
  # independent: run them side by side (each script prefixes its lines).
  "$DEPLOY_DIR/postgres.sh" start &
  pg_pid=$!
  "$DEPLOY_DIR/kafka.sh" start &
  kafka_pid=$!
  "$DEPLOY_DIR/ferretdb.sh" install &
  ferret_pid=$!
  "$DEPLOY_DIR/mailpit.sh" start &
  mailpit_pid=$!
  wait "$pg_pid" || { log "postgres failed to start"; rc=1; }
  wait "$kafka_pid" || { log "kafka failed to start"; rc=1; }
  wait "$ferret_pid" || { log "ferretdb failed to build"; rc=1; }
  wait "$mailpit_pid" || { log "mailpit failed to start"; rc=1; }
  ((rc == 0)) || die "infrastructure is NOT up (see errors above)"
  # The tests' FHIR validator: built once (its Maven run after Kafka's, not beside it, so that
  # the two never download into the local repository at the same time).
  "$DEPLOY_DIR/fhir-validator.sh" install || die "the FHIR validator failed to build"
  if keycloak_on && [[ -z "$keycloak_pid" ]]; then
    "$DEPLOY_DIR/keycloak.sh" start &
    keycloak_pid=$!
  fi
  # FerretDB needs PostgreSQL (ferretdb.sh start re-checks it).
  "$DEPLOY_DIR/ferretdb.sh" start || die "ferretdb failed to start"
  if [[ -n "$keycloak_pid" ]]; then
    wait "$keycloak_pid" || die "keycloak failed to start"
  fi
  log "all up in $((SECONDS - started))s:"
  local s
  for s in "${SERVICES[@]}"; do
    printf '  %-9s %s\n' "$s" "$(address_of "$s")" >&2
  done
  log "environment for the services (also: eval \"\$($0 env)\"):"
  print_env
}

do_down() {
  local rc=0 s
  local order=(mailpit ferretdb kafka postgres)
  keycloak_on && order=(keycloak "${order[@]}")
  for s in "${order[@]}"; do
    "$DEPLOY_DIR/$s.sh" stop || rc=1
  done
  return "$rc"
}

do_status() {
  local s out rc pid state worst=0
  printf '%-9s %-12s %-8s %s\n' SERVICE STATE PID ADDRESS
  for s in "${SERVICES[@]}"; do
    rc=0
    out="$("$DEPLOY_DIR/$s.sh" status 2>/dev/null)" || rc=$?
    pid="$(sed -n 's/.*(pid \([0-9]*\)).*/\1/p; s/.*process \([0-9]*\) alive.*/\1/p' <<<"$out" | head -n1)"
    case "$rc" in
      0) state=running ;;
      1) state=unhealthy ;;
      *) state="$(sed -n 's/^[a-z]*: //p' <<<"$out")" ;;
    esac
    printf '%-9s %-12s %-8s %s\n' "$s" "$state" "${pid:--}" "$(address_of "$s")"
    ((rc > worst)) && worst=$rc
  done
  return "$worst"
}

case "${1:-}" in
  up) do_up ;;
  down) do_down ;;
  status) do_status ;;
  env) print_env ;;
  *) echo "usage: $0 {up|down|status|env}" >&2; exit 2 ;;
esac
