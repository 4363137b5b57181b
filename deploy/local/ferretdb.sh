#!/usr/bin/env bash
# Local FerretDB 1.24.2 (MongoDB wire protocol) on 127.0.0.1:27018 backed by the local PostgreSQL: install|start|stop|restart|kill|status
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FERRET_SRC="$DEPLOY_DIR/ferretdb"            # committed Go module: go.mod, go.sum, main.go
FERRET_HOME="$LOCAL_DIR/ferretdb"
FERRET_BIN="$BIN_DIR/ferretdb"
FERRET_PIDFILE="$FERRET_HOME/ferretdb.pid"
FERRET_LOG="$FERRET_HOME/logs/ferretdb.log"
FERRET_ADDR="$HOST:$FERRETDB_PORT"
FERRET_PG_URL="postgres://$PG_USER:$PG_PASSWORD@$HOST:$PG_PORT/ferretdb?sslmode=verify-full&sslrootcert=$SECRETS_DIR/ca.crt"
FERRET_MARKER="$FERRET_BIN -listen-addr $FERRET_ADDR"   # identifies our server in /proc/*/cmdline

# Build .local/bin/ferretdb when it is missing or older than any of the module's sources.
ensure_binary() {
  local stale=0 f
  if [[ ! -x "$FERRET_BIN" ]]; then
    stale=1
  else
    for f in "$FERRET_SRC"/go.mod "$FERRET_SRC"/go.sum "$FERRET_SRC"/*.go; do
      [[ "$f" -nt "$FERRET_BIN" ]] && stale=1
    done
  fi
  ((stale)) || return 0
  need_cmd go "Go 1.24+ is needed to build FerretDB"
  mkdir -p "$BIN_DIR" "$FERRET_HOME/logs"
  log "building $FERRET_BIN (CGO_ENABLED=0; first build takes about a minute)"
  # Build to a temp file first so a failed/interrupted build never leaves a broken binary behind.
  if ! (cd "$FERRET_SRC" && CGO_ENABLED=0 go build -trimpath -o "$FERRET_BIN.tmp" .) \
      >"$FERRET_HOME/logs/build.log" 2>&1 9>&-; then
    rm -f "$FERRET_BIN.tmp"
    show_log_tail "$FERRET_HOME/logs/build.log"
    die "go build failed"
  fi
  mv -f "$FERRET_BIN.tmp" "$FERRET_BIN"
}

is_ready() { "$FERRET_BIN" -ping "$FERRET_ADDR" -timeout 3s; }

do_install() {
  mkdir -p "$FERRET_HOME/logs"
  ensure_binary
}

do_start() {
  do_install
  "$DEPLOY_DIR/postgres.sh" start 9>&-
  local pid
  pid="$(server_pid "$FERRET_PIDFILE" "$FERRET_MARKER")"
  # One started by an older checkout reaches PostgreSQL without TLS, which is now refused.
  if [[ -n "$pid" ]] && ! pid_matches "$pid" "sslmode=verify-full"; then
    log "restarting FerretDB (pid $pid): its PostgreSQL connection must use TLS"
    terminate_pid "$pid" 20
    rm -f "$FERRET_PIDFILE"
    pid=""
  fi
  if [[ -n "$pid" ]] && ! is_ready; then
    # Seen under heavy parallel load: the process lives and accepts connections but no
    # longer answers. A read model is rebuilt from the log, so restarting it loses nothing.
    log "running (pid $pid) but not answering: restarting it"
    do_stop
    pid=""
  fi
  if [[ -n "$pid" ]]; then
    log "already running (pid $pid)"
    if [[ "$FERRET_BIN" -nt "/proc/$pid" ]]; then
      log "note: $FERRET_BIN was rebuilt after this server started; use '$0 restart' to run the new build"
    fi
  else
    if port_open "$HOST" "$FERRETDB_PORT"; then
      die "port $FERRET_ADDR is taken by another process"
    fi
    log "starting FerretDB on $FERRET_ADDR (backend postgres://$PG_USER:***@$HOST:$PG_PORT/ferretdb; log: $FERRET_LOG)"
    # The first two arguments form FERRET_MARKER; keep them first.
    setsid nohup "$FERRET_BIN" -listen-addr "$FERRET_ADDR" -postgresql-url "$FERRET_PG_URL" -log-level info \
      >>"$FERRET_LOG" 2>&1 </dev/null 9>&- &
    pid=$!
    echo "$pid" >"$FERRET_PIDFILE"
  fi
  wait_until 60 "FerretDB $FERRET_ADDR" "$FERRET_LOG" "$pid" -- is_ready
  log "answering at mongodb://$FERRET_ADDR/"
}

do_stop() {
  local pid
  pid="$(server_pid "$FERRET_PIDFILE" "$FERRET_MARKER")"
  if [[ -z "$pid" ]]; then
    log "not running"
    return 0
  fi
  log "stopping FerretDB (pid $pid)"
  terminate_pid "$pid" 20
  rm -f "$FERRET_PIDFILE"
  log "stopped"
}

do_kill() {
  local pid
  pid="$(server_pid "$FERRET_PIDFILE" "$FERRET_MARKER")"
  if [[ -z "$pid" ]]; then
    log "not running"
    return 0
  fi
  log "SIGKILL FerretDB (pid $pid)"
  kill9_pid "$pid"
  rm -f "$FERRET_PIDFILE"
}

do_status() {
  [[ -x "$FERRET_BIN" ]] || { echo "ferretdb: not installed"; return 3; }
  local pid
  pid="$(server_pid "$FERRET_PIDFILE" "$FERRET_MARKER")"
  if [[ -z "$pid" ]]; then
    echo "ferretdb: stopped"
    return 3
  elif is_ready >/dev/null 2>&1; then
    echo "ferretdb: running (pid $pid) at $FERRET_ADDR"
  else
    echo "ferretdb: process $pid alive but not answering at $FERRET_ADDR"
    return 1
  fi
}

main() {
  case "${1:-}" in
    install) take_lock ferretdb; do_install; log "installed ($FERRET_BIN)" ;;
    start) take_lock ferretdb; do_start ;;
    stop) take_lock ferretdb; do_stop ;;
    restart) take_lock ferretdb; do_stop; do_start ;;
    kill) take_lock ferretdb; do_kill ;;
    status) do_status ;;
    *) usage ;;
  esac
}

main "$@"
