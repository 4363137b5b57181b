#!/usr/bin/env bash
# Local PostgreSQL cluster for dev/tests on 127.0.0.1:55432 (data in .local/postgres): install|start|stop|restart|kill|status
# TCP connections must use TLS (server certificate from the local CA, deploy/local/secrets.sh):
# clients connect with sslmode=verify-full and sslrootcert=$SECRETS_DIR/ca.crt.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Auth for TCP connections on 127.0.0.1; the unix socket is always trust (used by this script).
PG_HOST_AUTH="${RSE_PG_HOST_AUTH:-scram-sha-256}"

pg_bindir() {
  local postgres
  postgres="$(printf '%s\n' /usr/lib/postgresql/*/bin/postgres | sort -V | tail -n1)"
  if [[ -x "$postgres" ]]; then dirname "$postgres"; fi
}

# Run a command as the postgres OS user, from / (our cwd may not be readable by postgres).
as_postgres() { (cd / && runuser -u postgres -- "$@" 9>&-); }

ensure_package() {
  if [[ -z "$(pg_bindir)" ]]; then
    apt_install postgresql
  fi
  PG_BIN="$(pg_bindir)"
  [[ -n "$PG_BIN" ]] || die "postgres binaries not found under /usr/lib/postgresql/*/bin after install"
  id postgres >/dev/null 2>&1 || die "OS user 'postgres' does not exist"
}

# Where the cluster lives: .local/postgres, unless the postgres OS user cannot reach .local (e.g. a
# clone under /root, mode 700); then in a per-clone folder under /var/lib/rse-local instead, with a
# symlink .local/postgres pointing there. Called again once the package (and its user) exists.
set_pg_paths() {
  PG_HOME="$LOCAL_DIR/postgres"
  if id postgres >/dev/null 2>&1 && ! as_postgres test -x "$LOCAL_DIR"; then
    PG_HOME="/var/lib/rse-local/$(printf '%s' "$LOCAL_DIR" | sha256sum | cut -c1-12)/postgres"
  fi
  PG_DATA="$PG_HOME/data"
  PG_RUN="$PG_HOME/run"                    # unix socket directory (clear of /var/run/postgresql)
  PG_LOGS="$PG_HOME/logs"
  PG_LOG="$PG_LOGS/postgres.log"
  PG_INIT_MARKER="$PG_HOME/.initialized"   # written only after initdb + config fully succeeded
}
set_pg_paths

# The server's key and certificate, copied where the postgres user may read them.
install_certificate() {
  "$DEPLOY_DIR/secrets.sh" ensure 9>&-
  install -m 600 -o postgres -g postgres "$SECRETS_DIR/postgres.key" "$PG_DATA/server.key"
  install -m 644 -o postgres -g postgres "$SECRETS_DIR/postgres.crt" "$PG_DATA/server.crt"
}

write_config() {
  install_certificate
  cat >"$PG_DATA/rse.conf" <<EOF
# Managed by deploy/local/postgres.sh (rewritten on every start).
listen_addresses = '$HOST'
port = $PG_PORT
unix_socket_directories = '$PG_RUN'
max_connections = 600
shared_buffers = 64MB
# Durability stays ON (crash-fault tests rely on it): fsync, synchronous_commit, full_page_writes at defaults.
password_encryption = 'scram-sha-256'
log_timezone = 'UTC'
timezone = 'UTC'
log_line_prefix = '%m [%p] %q%u@%d '
ssl = on
ssl_cert_file = 'server.crt'
ssl_key_file = 'server.key'
ssl_min_protocol_version = 'TLSv1.2'
EOF
  cat >"$PG_DATA/pg_hba.conf" <<EOF
# Managed by deploy/local/postgres.sh (rewritten on every start).
# TYPE  DATABASE  USER  ADDRESS        METHOD
local   all       all                  trust
hostssl all       all   127.0.0.1/32   $PG_HOST_AUTH
hostnossl all     all   127.0.0.1/32   reject
EOF
  chown postgres:postgres "$PG_DATA/rse.conf" "$PG_DATA/pg_hba.conf"
}

do_install() {
  ensure_package
  set_pg_paths
  if [[ "$PG_HOME" != "$LOCAL_DIR/postgres" && ! -L "$LOCAL_DIR/postgres" ]]; then
    log "OS user postgres cannot reach $LOCAL_DIR; keeping the cluster in $PG_HOME"
    rm -rf "$LOCAL_DIR/postgres"
    mkdir -p "$PG_HOME"
    ln -sfn "$PG_HOME" "$LOCAL_DIR/postgres"
  fi
  mkdir -p "$PG_HOME" "$PG_RUN" "$PG_LOGS"
  chown postgres:postgres "$PG_HOME" "$PG_RUN" "$PG_LOGS"
  if [[ -f "$PG_INIT_MARKER" && -f "$PG_DATA/PG_VERSION" && -f "$PG_DATA/global/pg_control" ]]; then
    return 0
  fi
  if [[ -e "$PG_DATA" ]]; then
    log "found a half-initialised cluster in $PG_DATA; wiping it"
    rm -rf "$PG_DATA"
  fi
  rm -f "$PG_INIT_MARKER"
  log "initdb $PG_DATA ($("$PG_BIN/postgres" --version))"
  mkdir -p "$PG_DATA"
  chown postgres:postgres "$PG_DATA"
  chmod 700 "$PG_DATA"
  as_postgres "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --encoding=UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host="$PG_HOST_AUTH" >"$PG_LOGS/initdb.log" 2>&1 \
    || { show_log_tail "$PG_LOGS/initdb.log"; die "initdb failed"; }
  echo "include = 'rse.conf'" >>"$PG_DATA/postgresql.conf"
  write_config
  touch "$PG_INIT_MARKER"
}

# pid of the postmaster serving our data dir, or nothing (removes a stale postmaster.pid).
postmaster_pid() {
  local pid
  [[ -f "$PG_DATA/postmaster.pid" ]] || return 0
  pid="$(head -n1 "$PG_DATA/postmaster.pid" | tr -dc '0-9')"
  if pid_matches "$pid" "$PG_DATA"; then
    echo "$pid"
  else
    log "removing stale $PG_DATA/postmaster.pid (pid ${pid:-?} is not our postmaster)"
    rm -f "$PG_DATA/postmaster.pid"
  fi
}

psql_admin() { as_postgres "$PG_BIN/psql" -X -q -h "$PG_RUN" -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 "$@"; }

is_ready() {
  "$PG_BIN/pg_isready" -q -h "$HOST" -p "$PG_PORT" -t 2 && psql_admin -d postgres -tAc 'select 1' >/dev/null
}

# The key database's roles, tables and grants (rse_shared.key_access): each service reaches
# the citizens' data keys as its own role, with only what it needs.
ensure_key_roles() {
  local python="$REPO_ROOT/.venv/bin/python"
  [[ -x "$python" ]] || die "no $python: run 'make install' first (the key grants come from rse_shared.key_access)"
  "$python" -m rse_shared.key_access sql --password-dir "$SECRETS_DIR/postgres" |
    psql_admin -d rse_keys -v ON_ERROR_STOP=1 >/dev/null
}

ensure_role_and_databases() {
  psql_admin -d postgres >/dev/null <<EOF
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_USER') THEN
    CREATE ROLE $PG_USER LOGIN SUPERUSER PASSWORD '$PG_PASSWORD';
  ELSE
    ALTER ROLE $PG_USER LOGIN SUPERUSER PASSWORD '$PG_PASSWORD';
  END IF;
END \$\$;
EOF
  local db
  for db in "${PG_DATABASES[@]}"; do
    psql_admin -d postgres >/dev/null <<EOF
SELECT 'CREATE DATABASE $db OWNER $PG_USER' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$db')
\gexec
EOF
  done
}

# The real end-to-end check: TCP + password auth as the application role.
app_select_1() {
  PGPASSWORD="$PG_PASSWORD" PGCONNECT_TIMEOUT=3 PGSSLMODE=verify-full \
    PGSSLROOTCERT="$SECRETS_DIR/ca.crt" "$PG_BIN/psql" -X -q -h "$HOST" -p "$PG_PORT" \
    -U "$PG_USER" -d "${PG_DATABASES[0]}" -tAc 'select 1' | grep -qx 1
}

do_start() {
  do_install
  write_config
  local pid reload=0
  pid="$(postmaster_pid)"
  if [[ -z "$pid" ]]; then
    if port_open "$HOST" "$PG_PORT"; then
      die "port $HOST:$PG_PORT is already taken by another process"
    fi
    log "starting PostgreSQL on $HOST:$PG_PORT (log: $PG_LOG)"
    # -w: pg_ctl waits for start-up itself (including crash recovery after a kill).
    if ! as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 120 start >/dev/null; then
      show_log_tail "$PG_LOG"
      die "pg_ctl start failed"
    fi
    pid="$(postmaster_pid)"
  else
    # TLS settings, certificates and pg_hba.conf take effect on a reload (a server started
    # by an older checkout, without TLS, is switched over this way).
    log "already running (pid $pid); its configuration is reloaded"
    reload=1
  fi
  wait_until 60 "PostgreSQL $HOST:$PG_PORT" "$PG_LOG" "$pid" -- is_ready
  if ((reload)); then psql_admin -d postgres -tAc 'select pg_reload_conf()' >/dev/null; fi
  ensure_role_and_databases
  ensure_key_roles
  app_select_1 || { show_log_tail "$PG_LOG"; die "'select 1' as $PG_USER over TCP failed"; }
  log "answering at postgresql://$PG_USER:$PG_PASSWORD@$HOST:$PG_PORT/ (TLS only, CA $SECRETS_DIR/ca.crt; databases: ${PG_DATABASES[*]})"
}

do_stop() {
  local pid
  PG_BIN="$(pg_bindir)"
  [[ -d "$PG_DATA" && -n "$PG_BIN" ]] || { log "not installed"; return 0; }
  pid="$(postmaster_pid)"
  if [[ -z "$pid" ]]; then
    log "not running"
    return 0
  fi
  log "stopping PostgreSQL (pid $pid, fast mode)"
  if ! as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 20 stop >/dev/null; then
    log "fast shutdown did not finish in 20s; trying immediate"
    as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w -t 10 stop >/dev/null || true
  fi
  pid_alive "$pid" && kill9_pid "$pid"
  kill_orphan_backends
  log "stopped"
}

# After a postmaster SIGKILL its backends/auxiliary processes may linger and keep the shared
# memory attached, which blocks the next start. Kill them (matched by our data dir's children).
kill_orphan_backends() {
  local pid ppid
  for pid in $(find_pids_by_marker "postgres: "); do
    # Only orphans (re-parented, postmaster gone) whose owner is postgres and whose cwd is our data dir.
    [[ "$(readlink "/proc/$pid/cwd" 2>/dev/null || true)" == "$PG_DATA" ]] || continue
    ppid="$(awk '{print $4}' "/proc/$pid/stat" 2>/dev/null || true)"
    pid_matches "$ppid" "$PG_DATA" && continue
    kill -KILL "$pid" 2>/dev/null || true
  done
}

do_kill() {
  local pid children
  PG_BIN="$(pg_bindir)"
  [[ -d "$PG_DATA" ]] || { log "not installed"; return 0; }
  pid="$(postmaster_pid)"
  if [[ -z "$pid" ]]; then
    log "not running"
    return 0
  fi
  children="$(children_of "$pid")"
  log "SIGKILL postmaster $pid and its $(echo "$children" | wc -w) children"
  # shellcheck disable=SC2086  # word-splitting the pid list is intended
  kill -KILL "$pid" $children 2>/dev/null || true
  kill9_pid "$pid"
  sleep 0.2
  kill_orphan_backends
}

do_status() {
  PG_BIN="$(pg_bindir)"
  [[ -n "$PG_BIN" && -f "$PG_INIT_MARKER" ]] || { echo "postgres: not installed"; return 3; }
  local pid
  pid="$(postmaster_pid 2>/dev/null)"
  if [[ -n "$pid" ]] && app_select_1 2>/dev/null; then
    echo "postgres: running (pid $pid) at $HOST:$PG_PORT"
  elif [[ -n "$pid" ]]; then
    echo "postgres: process $pid alive but not answering at $HOST:$PG_PORT"
    return 1
  else
    echo "postgres: stopped"
    return 3
  fi
}

main() {
  local action="${1:-}"
  case "$action" in
    install) take_lock postgres; do_install; log "installed ($PG_DATA)" ;;
    start) take_lock postgres; do_start ;;
    stop) take_lock postgres; do_stop ;;
    restart) take_lock postgres; do_stop; do_start ;;
    kill) take_lock postgres; do_kill ;;
    status) do_status ;;
    *) usage ;;
  esac
}

main "$@"
