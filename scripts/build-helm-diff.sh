#!/usr/bin/env bash
# Builds the helm-diff plugin (github.com/databus23/helm-diff) from the Go module
# proxy with the machine's Go, for the benchmark's "helm diff" baseline
# (bench/baselines.ts), and caches it by version under
# ${HDE_CACHE_DIR:-~/.cache/helm-drift-exporter}/bin:
#
#   helm-diff-$HELM_DIFF_VERSION                     the binary
#   helm-diff-$HELM_DIFF_VERSION.plugins/diff/       a Helm plugin directory: the
#     plugin.yaml                                    module's own plugin.yaml
#     bin/diff -> ../../../helm-diff-$VERSION        (its command is bin/diff)
#
# so `HELM_PLUGINS=$(bash scripts/build-helm-diff.sh --print-path) helm diff ...`
# runs it. Safe to re-run: a cached build is reused.
#
# It builds "where it builds": when the module cannot be fetched or built here,
# the script says why, writes the reason to helm-diff-$VERSION.unavailable
# beside the binary (the benchmark reports helm-diff as unavailable with that
# text) and exits 1. A later successful build removes that file.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env" # HELM_DIFF_VERSION

module=github.com/databus23/helm-diff/v3
cache=${HDE_CACHE_DIR:-$HOME/.cache/helm-drift-exporter}
bin=$cache/bin
name=helm-diff-$HELM_DIFF_VERSION
plugins=$bin/$name.plugins
unavailable=$bin/$name.unavailable

log() { printf '[build-helm-diff] %s\n' "$*" >&2; }

case ${1:-build} in
  build) ;;
  --print-path)
    # The directory to give Helm as HELM_PLUGINS, built or not.
    printf '%s\n' "$plugins"
    exit 0
    ;;
  *)
    echo "usage: $0 [build|--print-path]" >&2
    exit 2
    ;;
esac

built() { [[ -x "$bin/$name" && -f "$plugins/diff/plugin.yaml" && -x "$plugins/diff/bin/diff" ]]; }

if built; then
  rm -f "$unavailable"
  exit 0
fi

mkdir -p "$bin"
export GOTOOLCHAIN=local CGO_ENABLED=0

# Says why it cannot build, for a person and for the benchmark, and stops.
fail() {
  local reason=$1
  printf '%s\n' "$reason" >"$unavailable"
  log "helm-diff $HELM_DIFF_VERSION is unavailable: $reason"
  exit 1
}

start=$SECONDS
log "resolving $module $HELM_DIFF_VERSION"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# `go mod download -json` reports a failure as an "Error" field (exit 1); keep its text.
download=$(cd "$work" && go mod download -json "$module@$HELM_DIFF_VERSION" 2>&1) || true
error=$(printf '%s\n' "$download" | sed -n 's/^[[:space:]]*"Error": "\(.*\)",\{0,1\}$/\1/p' | sed 's/\\n\\t/ /g; s/\\n/ /g; s/\\t/ /g')
dir=$(printf '%s\n' "$download" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
if [[ -n $error || -z $dir || ! -f $dir/plugin.yaml ]]; then
  fail "cannot download Go module $module@$HELM_DIFF_VERSION with $(go version | cut -d' ' -f3) (GOPROXY=$(go env GOPROXY)): ${error:-$(printf '%s' "$download" | tr '\n' ' ')}"
fi

log "building helm-diff $HELM_DIFF_VERSION"
gobin=$work/gobin
if ! output=$(GOBIN=$gobin go install -trimpath -ldflags "-s -w -X $module/cmd.Version=${HELM_DIFF_VERSION#v}" \
  "$module@$HELM_DIFF_VERSION" 2>&1); then
  printf '%s\n' "$output" >&2
  fail "go install $module@$HELM_DIFF_VERSION failed: $(printf '%s' "$output" | tail -n 5 | tr '\n' ' ')"
fi
mv "$gobin/helm-diff" "$bin/$name.tmp"

rm -rf "$plugins"
mkdir -p "$plugins/diff/bin"
cp "$dir/plugin.yaml" "$plugins/diff/plugin.yaml"
chmod u+w "$plugins/diff/plugin.yaml" # files in the module cache are read-only
ln -s "../../../$name" "$plugins/diff/bin/diff"
mv "$bin/$name.tmp" "$bin/$name"
rm -f "$unavailable"
log "built $bin/$name and the plugin directory $plugins in $((SECONDS - start))s"
