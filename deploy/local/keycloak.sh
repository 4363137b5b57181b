#!/usr/bin/env bash
# Local Keycloak (the OpenID Connect provider standing for Autenticação.gov) on 127.0.0.1, from its Maven Central distribution: install|installed|start|stop|restart|reset|kill|status
#
# The distribution zip (org.keycloak:keycloak-quarkus-dist) is fetched once with Maven into
# .local/keycloak and unpacked there; `kc.sh start-dev` runs it on the installed JDK (17) with
# a bounded heap, importing the realm committed in deploy/keycloak/rse-realm.json (its test
# citizens carry nif, sns_number and birthdate, mapped into the ID token). The realm is
# imported on the first start only: after a change to the file, `keycloak.sh reset` drops
# Keycloak's own data (its H2 database) and imports it again.
# A second instance sets RSE_LOCAL_KEYCLOAK_PORT and RSE_KEYCLOAK_HOME.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KEYCLOAK_VERSION=26.4.7
KEYCLOAK_ARTIFACT="org.keycloak:keycloak-quarkus-dist:$KEYCLOAK_VERSION:zip"
KEYCLOAK_HOME="${RSE_KEYCLOAK_HOME:-$LOCAL_DIR/keycloak}"
KEYCLOAK_DIST="$KEYCLOAK_HOME/keycloak-$KEYCLOAK_VERSION"
KEYCLOAK_PIDFILE="$KEYCLOAK_HOME/keycloak.pid"
KEYCLOAK_LOG="$KEYCLOAK_HOME/keycloak.log"
KEYCLOAK_REALM_FILE="$REPO_ROOT/deploy/keycloak/rse-realm.json"
KEYCLOAK_URL="http://$HOST:$KEYCLOAK_PORT"
# kc.sh passes the home directory to the JVM: it names our server in /proc/*/cmdline.
KEYCLOAK_MARKER="-Dkc.home.dir=$KEYCLOAK_DIST"
# The first start builds Keycloak's optimised image (about a minute on 2 cores).
KEYCLOAK_START_TIMEOUT=${RSE_KEYCLOAK_START_TIMEOUT:-240}

ensure_java() {
  if ! command -v java >/dev/null 2>&1 || ! command -v mvn >/dev/null 2>&1; then
    apt_install openjdk-17-jdk-headless maven
  fi
}

# Fetch the zip with Maven (Maven Central, through the local repository) and unpack it once.
ensure_dist() {
  [[ -x "$KEYCLOAK_DIST/bin/kc.sh" ]] && return 0
  ensure_java
  need_cmd unzip "apt-get install unzip"
  mkdir -p "$KEYCLOAK_HOME"
  log "fetching $KEYCLOAK_ARTIFACT with Maven (159 MB, once)"
  if ! mvn -B -q dependency:copy -Dartifact="$KEYCLOAK_ARTIFACT" \
      -DoutputDirectory="$KEYCLOAK_HOME" >"$KEYCLOAK_HOME/mvn.log" 2>&1 9>&-; then
    show_log_tail "$KEYCLOAK_HOME/mvn.log"
    die "mvn dependency:copy $KEYCLOAK_ARTIFACT failed"
  fi
  local zip="$KEYCLOAK_HOME/keycloak-quarkus-dist-$KEYCLOAK_VERSION.zip" tmp
  tmp="$(mktemp -d "$KEYCLOAK_HOME/unpack.XXXXXX")"
  unzip -q "$zip" -d "$tmp"
  mv "$tmp/keycloak-$KEYCLOAK_VERSION" "$KEYCLOAK_DIST"
  rm -rf "$tmp" "$zip"
}

# The realm file goes where --import-realm looks for it.
install_realm() {
  mkdir -p "$KEYCLOAK_DIST/data/import"
  cp -f "$KEYCLOAK_REALM_FILE" "$KEYCLOAK_DIST/data/import/rse-realm.json"
}

is_ready() {
  curl -fsS "$KEYCLOAK_URL/realms/rse/.well-known/openid-configuration" >/dev/null
}

do_install() {
  ensure_dist
  install_realm
}

do_start() {
  do_install
  local pid
  pid="$(server_pid "$KEYCLOAK_PIDFILE" "$KEYCLOAK_MARKER")"
  if [[ -n "$pid" ]]; then
    log "already running (pid $pid)"
  else
    if port_open "$HOST" "$KEYCLOAK_PORT" || port_open "$HOST" "$KEYCLOAK_MANAGEMENT_PORT"; then
      die "port $KEYCLOAK_PORT or $KEYCLOAK_MANAGEMENT_PORT is taken by another process"
    fi
    log "starting Keycloak $KEYCLOAK_VERSION on $KEYCLOAK_URL (realm rse; log: $KEYCLOAK_LOG)"
    # start-dev: HTTP on loopback, H2 in the distribution's data/ (no TLS: nothing leaves
    # 127.0.0.1). The heap is bounded: the machine is shared with Kafka and the services.
    JAVA_OPTS_KC_HEAP="-Xms64m -Xmx${RSE_KEYCLOAK_HEAP:-512m}" \
      setsid nohup "$KEYCLOAK_DIST/bin/kc.sh" start-dev --import-realm \
      --http-host="$HOST" --http-port="$KEYCLOAK_PORT" \
      --http-management-port="$KEYCLOAK_MANAGEMENT_PORT" \
      --hostname="$KEYCLOAK_URL" --log-console-output=default \
      >>"$KEYCLOAK_LOG" 2>&1 </dev/null 9>&- &
    pid=$!
    echo "$pid" >"$KEYCLOAK_PIDFILE"
  fi
  wait_until "$KEYCLOAK_START_TIMEOUT" "Keycloak $KEYCLOAK_URL" "$KEYCLOAK_LOG" "$pid" -- is_ready
  log "issuer $KEYCLOAK_URL/realms/rse"
}

# kc.sh execs java, so the pid we started is the JVM's.
running_pid() { server_pid "$KEYCLOAK_PIDFILE" "$KEYCLOAK_MARKER"; }

do_stop() {
  local pid
  pid="$(running_pid)"
  if [[ -z "$pid" ]]; then
    log "not running"
    return 0
  fi
  log "stopping Keycloak (pid $pid)"
  terminate_pid "$pid" 30
  rm -f "$KEYCLOAK_PIDFILE"
}

do_kill() {
  local pid
  pid="$(running_pid)"
  [[ -z "$pid" ]] && { log "not running"; return 0; }
  kill9_pid "$pid"
  rm -f "$KEYCLOAK_PIDFILE"
}

# Drop Keycloak's data so that the next start imports the realm file again.
do_reset() {
  do_stop
  rm -rf "$KEYCLOAK_DIST/data/h2"
  do_start
}

do_status() {
  [[ -x "$KEYCLOAK_DIST/bin/kc.sh" ]] || { echo "keycloak: not installed"; return 3; }
  local pid
  pid="$(running_pid)"
  if [[ -z "$pid" ]]; then
    echo "keycloak: stopped"
    return 3
  elif is_ready >/dev/null 2>&1; then
    echo "keycloak: running (pid $pid) at $KEYCLOAK_URL, issuer $KEYCLOAK_URL/realms/rse"
  else
    echo "keycloak: process $pid alive but not answering at $KEYCLOAK_URL"
    return 1
  fi
}

case "${1:-}" in
  install) take_lock "keycloak-$KEYCLOAK_PORT"; do_install; log "installed ($KEYCLOAK_DIST)" ;;
  start) take_lock "keycloak-$KEYCLOAK_PORT"; do_start ;;
  stop) take_lock "keycloak-$KEYCLOAK_PORT"; do_stop ;;
  restart) take_lock "keycloak-$KEYCLOAK_PORT"; do_stop; do_start ;;
  reset) take_lock "keycloak-$KEYCLOAK_PORT"; do_reset ;;
  kill) take_lock "keycloak-$KEYCLOAK_PORT"; do_kill ;;
  status) do_status ;;
  installed) [[ -x "$KEYCLOAK_DIST/bin/kc.sh" ]] ;;
  *) echo "usage: $0 {install|installed|start|stop|restart|reset|kill|status}" >&2; exit 2 ;;
esac
