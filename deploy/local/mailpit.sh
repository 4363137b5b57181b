#!/usr/bin/env bash
# Local Mailpit (SMTP server with a web UI and API showing what was sent) on 127.0.0.1, built from the Go module proxy: install|start|stop|restart|kill|status
#
# SMTP on $MAILPIT_SMTP_PORT takes STARTTLS (certificate from the local CA) and requires the
# notifications service's credentials (secrets/mailpit/smtp.credentials); the UI and the API
# answer on http://127.0.0.1:$MAILPIT_HTTP_PORT/. A second instance (tests) sets
# RSE_LOCAL_MAILPIT_SMTP_PORT, RSE_LOCAL_MAILPIT_HTTP_PORT and RSE_MAILPIT_HOME.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MAILPIT_MODULE="github.com/axllent/mailpit@v1.33.1"
MAILPIT_BIN="$BIN_DIR/mailpit"
MAILPIT_STAMP="$BIN_DIR/.mailpit-version"
MAILPIT_HOME="${RSE_MAILPIT_HOME:-$LOCAL_DIR/mailpit}"
MAILPIT_PIDFILE="$MAILPIT_HOME/mailpit.pid"
MAILPIT_LOG="$MAILPIT_HOME/mailpit.log"
MAILPIT_SMTP="$HOST:$MAILPIT_SMTP_PORT"
MAILPIT_HTTP="$HOST:$MAILPIT_HTTP_PORT"
MAILPIT_MARKER="$MAILPIT_BIN --smtp $MAILPIT_SMTP"   # identifies our server in /proc/*/cmdline

# Build .local/bin/mailpit with `go install` when it is missing or of another version.
ensure_binary() {
  [[ -x "$MAILPIT_BIN" && "$(cat "$MAILPIT_STAMP" 2>/dev/null)" == "$MAILPIT_MODULE" ]] && return 0
  need_cmd go "Go 1.24+ is needed to build Mailpit"
  local gobin
  gobin="$(mktemp -d)"
  mkdir -p "$MAILPIT_HOME"
  log "building $MAILPIT_BIN from $MAILPIT_MODULE (first build takes a minute or two)"
  if ! GOBIN="$gobin" CGO_ENABLED=0 go install -trimpath "$MAILPIT_MODULE" \
      >"$MAILPIT_HOME/build.log" 2>&1 9>&-; then
    rm -rf "$gobin"
    show_log_tail "$MAILPIT_HOME/build.log"
    die "go install $MAILPIT_MODULE failed"
  fi
  mv -f "$gobin/mailpit" "$MAILPIT_BIN"
  rm -rf "$gobin"
  echo "$MAILPIT_MODULE" >"$MAILPIT_STAMP"
}

is_ready() {
  port_open "$HOST" "$MAILPIT_SMTP_PORT" && curl -fsS "http://$MAILPIT_HTTP/api/v1/info" >/dev/null
}

do_install() {
  mkdir -p "$MAILPIT_HOME"
  "$DEPLOY_DIR/secrets.sh" ensure 9>&-
  ensure_binary
}

do_start() {
  do_install
  local pid
  pid="$(server_pid "$MAILPIT_PIDFILE" "$MAILPIT_MARKER")"
  if [[ -n "$pid" ]]; then
    log "already running (pid $pid)"
  else
    if port_open "$HOST" "$MAILPIT_SMTP_PORT" || port_open "$HOST" "$MAILPIT_HTTP_PORT"; then
      die "port $MAILPIT_SMTP or $MAILPIT_HTTP is taken by another process"
    fi
    log "starting Mailpit: SMTP $MAILPIT_SMTP (STARTTLS, auth), UI and API http://$MAILPIT_HTTP/ (log: $MAILPIT_LOG)"
    # The first two arguments form MAILPIT_MARKER; keep them first.
    setsid nohup "$MAILPIT_BIN" --smtp "$MAILPIT_SMTP" --listen "$MAILPIT_HTTP" \
      --database "$MAILPIT_HOME/mailpit.db" \
      --smtp-tls-cert "$SECRETS_DIR/mailpit.crt" --smtp-tls-key "$SECRETS_DIR/mailpit.key" \
      --smtp-require-starttls --smtp-auth-file "$SECRETS_DIR/mailpit/smtp.credentials" \
      --smtp-disable-rdns ${RSE_MAILPIT_ARGS:-} \
      >>"$MAILPIT_LOG" 2>&1 </dev/null 9>&- &
    pid=$!
    echo "$pid" >"$MAILPIT_PIDFILE"
  fi
  wait_until 30 "Mailpit $MAILPIT_SMTP" "$MAILPIT_LOG" "$pid" -- is_ready
  log "UI and API at http://$MAILPIT_HTTP/"
}

do_stop() {
  local pid
  pid="$(server_pid "$MAILPIT_PIDFILE" "$MAILPIT_MARKER")"
  if [[ -z "$pid" ]]; then
    log "not running"
    return 0
  fi
  log "stopping Mailpit (pid $pid)"
  terminate_pid "$pid" 10
  rm -f "$MAILPIT_PIDFILE"
}

do_kill() {
  local pid
  pid="$(server_pid "$MAILPIT_PIDFILE" "$MAILPIT_MARKER")"
  [[ -z "$pid" ]] && { log "not running"; return 0; }
  kill9_pid "$pid"
  rm -f "$MAILPIT_PIDFILE"
}

do_status() {
  [[ -x "$MAILPIT_BIN" ]] || { echo "mailpit: not installed"; return 3; }
  local pid
  pid="$(server_pid "$MAILPIT_PIDFILE" "$MAILPIT_MARKER")"
  if [[ -z "$pid" ]]; then
    echo "mailpit: stopped"
    return 3
  elif is_ready >/dev/null 2>&1; then
    echo "mailpit: running (pid $pid) at $MAILPIT_SMTP, UI http://$MAILPIT_HTTP/"
  else
    echo "mailpit: process $pid alive but not answering at $MAILPIT_SMTP"
    return 1
  fi
}

case "${1:-}" in
  install) take_lock "mailpit-$MAILPIT_SMTP_PORT"; do_install; log "installed ($MAILPIT_BIN)" ;;
  start) take_lock "mailpit-$MAILPIT_SMTP_PORT"; do_start ;;
  stop) take_lock "mailpit-$MAILPIT_SMTP_PORT"; do_stop ;;
  restart) take_lock "mailpit-$MAILPIT_SMTP_PORT"; do_stop; do_start ;;
  kill) take_lock "mailpit-$MAILPIT_SMTP_PORT"; do_kill ;;
  status) do_status ;;
  *) usage ;;
esac
