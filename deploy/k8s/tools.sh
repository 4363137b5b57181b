#!/usr/bin/env bash
# Installs the tools that check the Kubernetes manifests into <repo>/.local/bin (git-ignored),
# built from the Go module proxy with the machine's Go (1.26+), and prints that directory:
#
#   kustomize   sigs.k8s.io/kustomize/kustomize/v5       v5.8.2   renders base + overlays
#   kube-score  github.com/zegl/kube-score/cmd/kube-score v1.20.0  best-practice linter
#
# Idempotent: a tool already built at its pinned version is left alone (well under a second);
# a missing or differently versioned one is (re)built: about 90 s for both on a new machine
# (module downloads included), about 60 s when the Go module cache already has them.
# Usage: deploy/k8s/tools.sh          (RSE_LOCAL_DIR moves .local, as in deploy/local/)
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LOCAL_DIR="${RSE_LOCAL_DIR:-$REPO_ROOT/.local}"
BIN_DIR="$LOCAL_DIR/bin"

# name, Go package, version (the version of the module that holds the package).
TOOLS=(
  "kustomize sigs.k8s.io/kustomize/kustomize/v5 v5.8.2"
  "kube-score github.com/zegl/kube-score/cmd/kube-score v1.20.0"
)
GO_MIN_MINOR=26 # kustomize v5.8.2 declares go 1.26.0

log() { printf '[k8s-tools] %s\n' "$*" >&2; }
die() { printf '[k8s-tools] ERROR: %s\n' "$*" >&2; exit 1; }

GO="$(command -v go || true)"
[[ -n "$GO" ]] || GO=/usr/local/go/bin/go
[[ -x "$GO" ]] || die "Go 1.$GO_MIN_MINOR+ is needed (not on PATH nor at /usr/local/go/bin/go)"
# Never switch to another Go toolchain behind our back: fail clearly instead.
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"

# The module version a Go binary was built from ("" if unknown).
built_version() { "$GO" version -m "$1" 2>/dev/null | awk '$1 == "mod" { print $3; exit }'; }

go_minor() { "$GO" env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/'; }

mkdir -p "$BIN_DIR" "$LOCAL_DIR/locks"
# One installer at a time (two test runs starting together must not race on a build).
exec 9>"$LOCAL_DIR/locks/k8s-tools.lock"
flock -w 600 9 || die "timed out waiting for $LOCAL_DIR/locks/k8s-tools.lock"

for tool in "${TOOLS[@]}"; do
  read -r name package version <<<"$tool"
  target="$BIN_DIR/$name"
  if [[ -x "$target" && "$(built_version "$target")" == "$version" ]]; then
    continue
  fi
  (( $(go_minor) >= GO_MIN_MINOR )) || die "Go 1.$GO_MIN_MINOR+ is needed, $("$GO" env GOVERSION) found"
  log "building $name $version from the Go module proxy (under a minute)"
  # Build into a temporary directory, then move: never leaves a half-written binary behind.
  tmp="$(mktemp -d "$BIN_DIR/.build.XXXXXX")"
  start=$SECONDS
  if ! CGO_ENABLED=0 GOBIN="$tmp" "$GO" install -trimpath "$package@$version" >"$tmp/build.log" 2>&1; then
    cat "$tmp/build.log" >&2
    rm -rf "$tmp"
    die "could not build $name $version (go install $package@$version)"
  fi
  mv -f "$tmp/$name" "$target"
  rm -rf "$tmp"
  log "built $target in $((SECONDS - start)) s"
done

printf '%s\n' "$BIN_DIR"
