# Shared helpers for deploy/local/*.sh (sourced, not executed): paths, ports, logging, process control.
# shellcheck shell=bash disable=SC2034  # constants are used by the sourcing scripts

# --- paths -------------------------------------------------------------------------------------
DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$DEPLOY_DIR/../.." && pwd)"
LOCAL_DIR="${RSE_LOCAL_DIR:-$REPO_ROOT/.local}"
mkdir -p "$LOCAL_DIR"
LOCAL_DIR="$(cd "$LOCAL_DIR" && pwd -P)"  # physical: pid checks compare real paths
LOCK_DIR="$LOCAL_DIR/locks"
BIN_DIR="${RSE_BIN_DIR:-$LOCAL_DIR/bin}"   # tools built once can be shared by several instances
mkdir -p "$BIN_DIR"
BIN_DIR="$(cd "$BIN_DIR" && pwd -P)"
# The local CA, certificates and Kafka passwords (deploy/local/secrets.sh); another instance of
# the same checkout points RSE_SECRETS_DIR at its parent's, so that one client set-up reaches both.
SECRETS_DIR="${RSE_SECRETS_DIR:-$LOCAL_DIR/secrets}"

# --- endpoints (all loopback only) --------------------------------------------------------------
# A second, independent instance (e.g. the fault-injection tests' own servers) sets RSE_LOCAL_DIR
# and these ports.
HOST=127.0.0.1
PG_PORT=${RSE_LOCAL_PG_PORT:-55432}
PG_USER=rse
PG_PASSWORD=rse
PG_DATABASES=(rse_identity rse_consent rse_records rse_requests rse_benefits rse_notifications rse_keys ferretdb)
KAFKA_PORT=${RSE_LOCAL_KAFKA_PORT:-19092}
KAFKA_CONTROLLER_PORT=${RSE_LOCAL_KAFKA_CONTROLLER_PORT:-19093}
FERRETDB_PORT=${RSE_LOCAL_FERRETDB_PORT:-27018}
# Mailpit: the SMTP server notifications sends to, and its web UI and API (what was sent).
MAILPIT_SMTP_PORT=${RSE_LOCAL_MAILPIT_SMTP_PORT:-11025}
MAILPIT_HTTP_PORT=${RSE_LOCAL_MAILPIT_HTTP_PORT:-18025}
# Keycloak: the OpenID Connect provider (realm rse) and its management interface.
KEYCLOAK_PORT=${RSE_LOCAL_KEYCLOAK_PORT:-18080}
KEYCLOAK_MANAGEMENT_PORT=${RSE_LOCAL_KEYCLOAK_MANAGEMENT_PORT:-18081}

# --- logging -----------------------------------------------------------------------------------
_NAME="$(basename "${0%.sh}")"
log() { printf '[%s] %s\n' "$_NAME" "$*" >&2; }
die() { printf '[%s] ERROR: %s\n' "$_NAME" "$*" >&2; exit 1; }

# Print the last lines of a log file to stderr (used when a server fails to come up).
show_log_tail() {
  local file="$1" lines="${2:-40}"
  if [[ -f "$file" ]]; then
    printf -- '----- last %s lines of %s -----\n' "$lines" "$file" >&2
    tail -n "$lines" "$file" >&2
    printf -- '-----\n' >&2
  else
    printf '(no log file %s)\n' "$file" >&2
  fi
}

# --- locking -----------------------------------------------------------------------------------
# Serialise actions on one service (e.g. infra.sh and ferretdb.sh both starting postgres).
# Uses fd 9: every server started while the lock is held MUST be spawned with `9>&-`,
# otherwise the daemon inherits the lock and holds it forever.
take_lock() {
  mkdir -p "$LOCK_DIR"
  exec 9>"$LOCK_DIR/$1.lock"
  if ! flock -w 300 9; then
    die "timed out waiting for lock $LOCK_DIR/$1.lock"
  fi
}

# --- processes ---------------------------------------------------------------------------------
pid_alive() { [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null; }

# True if process $1 is alive and its command line contains the fixed string $2.
pid_matches() {
  local pid="$1" marker="$2"
  pid_alive "$pid" || return 1
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$marker"
}

# Print the pids of all processes whose command line contains the fixed string $1.
find_pids_by_marker() {
  local marker="$1" d pid
  for d in /proc/[0-9]*; do
    pid="${d#/proc/}"
    [[ "$pid" == "$$" || "$pid" == "$BASHPID" ]] && continue
    if [[ -r "$d/cmdline" ]] && tr '\0' ' ' <"$d/cmdline" 2>/dev/null | grep -qF -- "$marker"; then
      echo "$pid"
    fi
  done
}

# Resolve the running server pid from the pid file, falling back to a /proc scan for the marker
# (covers a lost pid file). Removes a stale pid file. Prints the pid, or nothing.
server_pid() {
  local pidfile="$1" marker="$2" pid=""
  if [[ -f "$pidfile" ]]; then
    pid="$(tr -dc '0-9' <"$pidfile")"
    if pid_matches "$pid" "$marker"; then
      echo "$pid"
      return 0
    fi
    rm -f "$pidfile"
  fi
  pid="$(find_pids_by_marker "$marker" | head -n1)"
  if [[ -n "$pid" ]]; then
    echo "$pid" >"$pidfile"
    echo "$pid"
  fi
}

# Print the pids of the direct children of process $1.
children_of() {
  local parent="$1" stat
  for stat in /proc/[0-9]*/stat; do
    # field 4 of /proc/PID/stat is the parent pid (the comm field before it has no spaces here)
    awk -v p="$parent" '$4 == p {print $1}' "$stat" 2>/dev/null || true
  done
}

# SIGTERM, wait up to $2 seconds (default 20), then SIGKILL.
terminate_pid() {
  local pid="$1" grace="${2:-20}" i
  pid_alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do
    pid_alive "$pid" || return 0
    sleep 0.1
  done
  log "pid $pid did not exit after ${grace}s of SIGTERM; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    pid_alive "$pid" || return 0
    sleep 0.1
  done
  die "pid $pid survived SIGKILL"
}

# SIGKILL a process and wait until it is gone.
kill9_pid() {
  local pid="$1" i
  pid_alive "$pid" || return 0
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    pid_alive "$pid" || return 0
    sleep 0.1
  done
  die "pid $pid survived SIGKILL"
}

# True if something accepts TCP connections on host:port.
port_open() {
  timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}

# wait_until TIMEOUT_SECONDS DESCRIPTION LOGFILES WATCH_PID -- command...
# Polls the command every second until it succeeds. Fails (with the tails of the colon-separated
# LOGFILES) on timeout, or as soon as WATCH_PID (if non-empty) has died.
wait_until() {
  local timeout="$1" what="$2" logfiles="$3" watch_pid="$4" start f
  shift 5
  start=$SECONDS
  while true; do
    if "$@" >/dev/null 2>&1; then
      log "$what is ready (waited $((SECONDS - start))s)"
      return 0
    fi
    if [[ -n "$watch_pid" ]] && ! pid_alive "$watch_pid"; then
      IFS=: read -ra f <<<"$logfiles"
      for f in "${f[@]}"; do show_log_tail "$f"; done
      die "$what: server process $watch_pid exited during start-up"
    fi
    if ((SECONDS - start >= timeout)); then
      IFS=: read -ra f <<<"$logfiles"
      for f in "${f[@]}"; do show_log_tail "$f"; done
      die "$what did not answer within ${timeout}s"
    fi
    sleep 1
  done
}

need_cmd() {
  command -v "$1" >/dev/null 2>&1 || die "required command '$1' not found${2:+ ($2)}"
}

# apt-get install packages (we run as root on dev machines and CI).
apt_install() {
  [[ "$(id -u)" == 0 ]] || die "need root to apt-get install $*"
  log "installing with apt-get: $*"
  # 9>&-: a package's post-install may start a daemon, which must not inherit our lock fd
  DEBIAN_FRONTEND=noninteractive apt-get update -qq 9>&-
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 9>&-
}

# Usage line + dispatch helper for the per-service scripts.
usage() {
  echo "usage: $0 {install|start|stop|restart|kill|status}" >&2
  exit 2
}
