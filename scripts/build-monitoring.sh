#!/usr/bin/env bash
# Builds Prometheus 3 (prometheus, promtool) and Alertmanager from the Go module
# proxy with the machine's Go, and caches them by version under
# ${HDE_CACHE_DIR:-~/.cache/helm-drift-exporter}/bin. Safe to re-run: a cached
# binary is reused; only what is missing is built. The alert rules' tests
# (alerts/alerts.test.ts) use promtool-$PROMETHEUS_VERSION from there;
# `--print-path [promtool|prometheus|alertmanager]` prints where a binary is.
#
# Neither binary embeds its web UI: the UIs are built with npm in the upstream
# release process and their output is not part of the Go module. Prometheus then
# serves no UI (its HTTP API works); Alertmanager gets a placeholder page (its
# API works). The rules, promtool and both APIs are all this project needs.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env" # PROMETHEUS_VERSION, ALERTMANAGER_VERSION

# Prometheus 3.x is tagged v0.3XX.Y in Go: v3.16.0 is module v0.316.0.
prometheus_module_version() {
  local v=${PROMETHEUS_VERSION#v} major minor patch
  major=${v%%.*}
  minor=${v#*.}
  patch=${minor#*.}
  minor=${minor%%.*}
  printf 'v0.%d.%s' $((major * 100 + minor)) "$patch"
}
PROMETHEUS_MODULE_VERSION=$(prometheus_module_version)

cache=${HDE_CACHE_DIR:-$HOME/.cache/helm-drift-exporter}
bin=$cache/bin
mkdir -p "$bin"
export GOTOOLCHAIN=local CGO_ENABLED=0

log() { printf '[build-monitoring] %s\n' "$*" >&2; }

have() { [[ -x "$bin/$1" ]]; }

# What `prometheus --version` and `promtool --version` print; the date is fixed
# so the binaries are reproducible.
version_ldflags() {
  local v=${1#v} p=github.com/prometheus/common/version
  printf '%s' "-s -w -X $p.Version=$v -X $p.Revision=$1 -X $p.Branch=HEAD -X $p.BuildUser=helm-drift-exporter -X $p.BuildDate=20000101-00:00:00"
}

# Prometheus' go.mod has no replace directives, so `go install module@version`
# builds it as released.
build_prometheus() {
  local prometheus=prometheus-$PROMETHEUS_VERSION promtool=promtool-$PROMETHEUS_VERSION
  if have "$prometheus" && have "$promtool"; then return; fi
  local gobin flags
  gobin=$(mktemp -d)
  flags=$(version_ldflags "$PROMETHEUS_VERSION")
  log "building prometheus and promtool $PROMETHEUS_VERSION (module $PROMETHEUS_MODULE_VERSION)"
  GOBIN=$gobin go install -trimpath -tags netgo -ldflags "$flags" \
    "github.com/prometheus/prometheus/cmd/prometheus@$PROMETHEUS_MODULE_VERSION" \
    "github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_MODULE_VERSION"
  mv "$gobin/prometheus" "$bin/$prometheus"
  mv "$gobin/promtool" "$bin/$promtool"
  rmdir "$gobin"
}

# Alertmanager's ui package embeds ui/app/dist (`//go:embed app/dist`), which
# its release process builds with npm and which the module zip does not hold,
# so `go install ...@version` fails ("pattern app/dist: no matching files
# found"). It is built from a copy of the module source with a placeholder page
# there instead.
build_alertmanager() {
  local alertmanager=alertmanager-$ALERTMANAGER_VERSION
  if have "$alertmanager"; then return; fi
  local module=github.com/prometheus/alertmanager src=$cache/src/alertmanager-$ALERTMANAGER_VERSION dir
  log "resolving $module $ALERTMANAGER_VERSION"
  dir=$(cd "$bin" && go mod download -json "$module@$ALERTMANAGER_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  rm -rf "$src"
  mkdir -p "$(dirname "$src")"
  cp -R "$dir" "$src"
  chmod -R u+w "$src"
  mkdir -p "$src/ui/app/dist"
  # Pages are served gzipped only, as the real build's are (see ui/web.go).
  gzip -n9 >"$src/ui/app/dist/index.html.gz" <<'EOF'
<!doctype html>
<title>Alertmanager</title>
<p>This Alertmanager was built without its web UI. The API is at <a href="api/v2/status">api/v2/</a>.</p>
EOF
  log "building alertmanager $ALERTMANAGER_VERSION"
  (cd "$src" && go build -mod=mod -trimpath -tags netgo -ldflags "$(version_ldflags "$ALERTMANAGER_VERSION")" \
    -o "$bin/$alertmanager.tmp" ./cmd/alertmanager)
  mv "$bin/$alertmanager.tmp" "$bin/$alertmanager"
  rm -rf "$src"
}

case ${1:-all} in
  all)
    build_prometheus
    build_alertmanager
    ;;
  prometheus) build_prometheus ;;
  alertmanager) build_alertmanager ;;
  --print-path)
    # Where a binary this script builds is (default promtool), built or not.
    case ${2:-promtool} in
      promtool | prometheus) printf '%s\n' "$bin/${2:-promtool}-$PROMETHEUS_VERSION" ;;
      alertmanager) printf '%s\n' "$bin/alertmanager-$ALERTMANAGER_VERSION" ;;
      *)
        echo "unknown binary: $2" >&2
        exit 2
        ;;
    esac
    exit 0
    ;;
  *)
    echo "usage: $0 [all|prometheus|alertmanager|--print-path [promtool|prometheus|alertmanager]]" >&2
    exit 2
    ;;
esac
log "monitoring binaries ready in $bin"
