#!/usr/bin/env bash
# The platform's services, run natively on 127.0.0.1 beside the local infrastructure: start|stop|status
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# name:port of every service that exists so far.
SERVICES=(identity:8001 consent:8002 records:8003 requests:8004 benefits:8005 notifications:8006)
RUN_DIR="$LOCAL_DIR/run"

service_env() {
  local name="$1" port="$2"
  echo "RSE_ENVIRONMENT=development RSE_HTTP_HOST=$HOST RSE_HTTP_PORT=$port" \
    "RSE_POSTGRES_HOST=$HOST RSE_POSTGRES_PORT=$PG_PORT RSE_POSTGRES_USER=$PG_USER" \
    "RSE_POSTGRES_PASSWORD=$PG_PASSWORD RSE_KAFKA_BOOTSTRAP=$HOST:$KAFKA_PORT" \
    "RSE_MONGO_URL=mongodb://$HOST:$FERRETDB_PORT/ RSE_JWT_ISSUER=http://$HOST:8001" \
    "RSE_JWKS_URL=http://$HOST:8001/.well-known/jwks.json" \
    "RSE_SIGNING_KEY_FILE=$SECRETS_DIR/identity_signing_key.pem" \
    "RSE_AUDIT_KEY_FILE=$SECRETS_DIR/${name}_audit_key.pem RSE_SECRETS_DIR=$SECRETS_DIR"
  # identity registers citizens through the local Keycloak (deploy/local/keycloak.sh).
  if [[ "$name" == identity && "${RSE_LOCAL_KEYCLOAK:-on}" != off ]]; then
    echo "RSE_OIDC_ISSUER=http://$HOST:$KEYCLOAK_PORT/realms/rse RSE_OIDC_CLIENT_ID=rse-identity"
  fi
}

start_one() {
  local name="$1" port="$2"
  local pidfile="$RUN_DIR/$name.pid" logfile="$RUN_DIR/$name.log" pid
  pid="$(server_pid "$pidfile" "rse-$name serve")"
  if [[ -n "$pid" ]]; then
    log "$name already running (pid $pid)"
  else
    # shellcheck disable=SC2046  # word splitting of the env assignments is intended
    env $(service_env "$name" "$port") nohup "$REPO_ROOT/.venv/bin/rse-$name" serve \
      >>"$logfile" 2>&1 9>&- &
    echo $! >"$pidfile"
  fi
  local deadline=$((SECONDS + 60))
  until curl -fsS "http://$HOST:$port/health/ready" >/dev/null 2>&1; do
    if ((SECONDS > deadline)); then
      show_log_tail "$logfile"
      die "$name did not become ready on $HOST:$port"
    fi
    sleep 0.5
  done
  printf '  %-9s http://%s:%s  (API docs: http://%s:%s/docs)\n' "$name" "$HOST" "$port" "$HOST" "$port" >&2
}

stop_one() {
  local name="$1"
  local pidfile="$RUN_DIR/$name.pid" pid
  pid="$(server_pid "$pidfile" "rse-$name serve")"
  if [[ -n "$pid" ]]; then
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + 20))
    while pid_alive "$pid" && ((SECONDS < deadline)); do sleep 0.2; done
    pid_alive "$pid" && kill -KILL "$pid" 2>/dev/null || true
    log "$name stopped"
  fi
  rm -f "$pidfile"
}

case "${1:-}" in
  start)
    mkdir -p "$RUN_DIR" "$SECRETS_DIR"
    [[ -f "$SECRETS_DIR/identity_signing_key.pem" ]] ||
      "$REPO_ROOT/.venv/bin/rse-identity" generate-key "$SECRETS_DIR/identity_signing_key.pem" >&2
    log "services:"
    for s in "${SERVICES[@]}"; do start_one "${s%%:*}" "${s##*:}"; done
    ;;
  stop)
    for s in "${SERVICES[@]}"; do stop_one "${s%%:*}"; done
    ;;
  status)
    printf '%-9s %-8s %s\n' SERVICE STATE ADDRESS
    for s in "${SERVICES[@]}"; do
      name="${s%%:*}" port="${s##*:}"
      state=down
      curl -fsS "http://$HOST:$port/health/ready" >/dev/null 2>&1 && state=ready
      printf '%-9s %-8s http://%s:%s\n' "$name" "$state" "$HOST" "$port"
    done
    ;;
  *) die "usage: $0 start|stop|status" ;;
esac
