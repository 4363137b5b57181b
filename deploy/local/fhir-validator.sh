#!/usr/bin/env bash
# HAPI FHIR's R4 instance validator, offline, from Maven Central jars: install|status|run [FILE|DIR ...]
#
# install: resolve the jars (deploy/local/fhir-validator/pom.xml) into .local/fhir-validator/libs
# with Maven and compile the one entry point (src/rse/ValidateFhir.java) with javac; each step
# is redone only when its input changed. Afterwards nothing is fetched: the validator needs no
# network (no terminology server; see the class's comment for what is checked without one).
# run: validate every *.json of the arguments, or one JSON resource per line on stdin; one JSON
# result per resource on stdout (the tests keep one such process for a whole session).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

VALIDATOR_SRC="$DEPLOY_DIR/fhir-validator"       # committed: pom.xml, src/rse/ValidateFhir.java
VALIDATOR_HOME="$LOCAL_DIR/fhir-validator"
VALIDATOR_LIBS="$VALIDATOR_HOME/libs"
VALIDATOR_LIBS_STAMP="$VALIDATOR_LIBS/.complete"       # sha256 of the pom the jars came from
VALIDATOR_CLASSES="$VALIDATOR_HOME/classes"
VALIDATOR_CLASSES_STAMP="$VALIDATOR_CLASSES/.complete" # sha256 of the pom and the source compiled
VALIDATOR_LOGS="$VALIDATOR_HOME/logs"
MAIN_CLASS=rse.ValidateFhir

ensure_java() {
  if ! command -v javac >/dev/null 2>&1 || ! command -v mvn >/dev/null 2>&1; then
    apt_install openjdk-17-jdk-headless maven
  fi
}

sources_hash() {
  cat "$VALIDATOR_SRC/pom.xml" "$VALIDATOR_SRC"/src/rse/*.java | sha256sum | cut -d' ' -f1
}

ensure_libs() {
  local want
  want="$(sha256sum "$VALIDATOR_SRC/pom.xml" | cut -d' ' -f1)"
  [[ -f "$VALIDATOR_LIBS_STAMP" && "$(cat "$VALIDATOR_LIBS_STAMP")" == "$want" ]] && return 0
  log "resolving HAPI FHIR validator jars with Maven into $VALIDATOR_LIBS"
  rm -rf "$VALIDATOR_LIBS"
  mkdir -p "$VALIDATOR_LIBS" "$VALIDATOR_LOGS"
  if ! mvn -B -q -f "$VALIDATOR_SRC/pom.xml" dependency:copy-dependencies \
      -DoutputDirectory="$VALIDATOR_LIBS" -DincludeScope=runtime >"$VALIDATOR_LOGS/mvn.log" 2>&1 9>&-; then
    show_log_tail "$VALIDATOR_LOGS/mvn.log"
    die "mvn dependency:copy-dependencies failed"
  fi
  rm -rf "$VALIDATOR_SRC/target"
  log "$(find "$VALIDATOR_LIBS" -name '*.jar' | wc -l) jars resolved"
  echo "$want" >"$VALIDATOR_LIBS_STAMP"
}

ensure_classes() {
  local want
  want="$(sources_hash)"
  [[ -f "$VALIDATOR_CLASSES_STAMP" && "$(cat "$VALIDATOR_CLASSES_STAMP")" == "$want" ]] && return 0
  log "compiling $MAIN_CLASS"
  rm -rf "$VALIDATOR_CLASSES"
  mkdir -p "$VALIDATOR_CLASSES" "$VALIDATOR_LOGS"
  if ! javac -nowarn -d "$VALIDATOR_CLASSES" -cp "$VALIDATOR_LIBS/*" \
      "$VALIDATOR_SRC"/src/rse/*.java >"$VALIDATOR_LOGS/javac.log" 2>&1; then
    show_log_tail "$VALIDATOR_LOGS/javac.log"
    die "javac failed"
  fi
  echo "$want" >"$VALIDATOR_CLASSES_STAMP"
}

is_built() {
  [[ -f "$VALIDATOR_LIBS_STAMP" && -f "$VALIDATOR_CLASSES_STAMP" ]] \
    && [[ "$(cat "$VALIDATOR_LIBS_STAMP")" == "$(sha256sum "$VALIDATOR_SRC/pom.xml" | cut -d' ' -f1)" ]] \
    && [[ "$(cat "$VALIDATOR_CLASSES_STAMP")" == "$(sources_hash)" ]]
}

do_install() {
  ensure_java
  ensure_libs
  ensure_classes
}

# The validator's own log lines go to stderr at warn level; stdout carries only the results.
do_run() {
  exec 9>&-
  exec java -Xmx768m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
    -Dorg.slf4j.simpleLogger.defaultLogLevel=error -Dorg.slf4j.simpleLogger.logFile=System.err \
    -cp "$VALIDATOR_LIBS/*:$VALIDATOR_CLASSES" "$MAIN_CLASS" "$@"
}

main() {
  case "${1:-}" in
    install) take_lock fhir-validator; do_install; log "installed ($VALIDATOR_HOME)" ;;
    status)
      if is_built; then echo "fhir-validator: built ($VALIDATOR_HOME)"; else echo "fhir-validator: not installed"; return 3; fi ;;
    run)
      shift
      if ! is_built; then take_lock fhir-validator; do_install >&2; fi
      do_run "$@" ;;
    *) echo "usage: $0 {install|status|run [FILE|DIR ...]}" >&2; exit 2 ;;
  esac
}

main "$@"
