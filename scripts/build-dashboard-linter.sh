#!/usr/bin/env bash
# Builds Grafana's dashboard-linter from the Go module proxy with the machine's
# Go, and caches it by version as
# ${HDE_CACHE_DIR:-~/.cache/helm-drift-exporter}/bin/dashboard-linter-$VERSION.
# Safe to re-run: a cached binary is reused. The dashboards' test
# (grafana/dashboards.test.ts) runs that binary; `--print-path` prints where it is.
#
# The linter's go.mod has `replace github.com/hashicorp/memberlist => ...`, and
# `go install module@version` refuses modules with replace directives. So it is
# built inside a small wrapper module that requires the linter at the pinned
# version and repeats the linter's own replace directives (read from its go.mod,
# so a version bump carries them along).
set -euo pipefail

# Tagged releases only: the module proxy here serves v0.2.0 and v0.3.0 (no
# version list, no @latest), and only v0.3.0 is in the checksum database.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env" # DASHBOARD_LINTER_VERSION

module=github.com/grafana/dashboard-linter
cache=${HDE_CACHE_DIR:-$HOME/.cache/helm-drift-exporter}
bin=$cache/bin
name=dashboard-linter-$DASHBOARD_LINTER_VERSION

log() { printf '[build-dashboard-linter] %s\n' "$*" >&2; }

case ${1:-build} in
  build) ;;
  --print-path)
    printf '%s\n' "$bin/$name"
    exit 0
    ;;
  *)
    echo "usage: $0 [build|--print-path]" >&2
    exit 2
    ;;
esac

if [[ -x "$bin/$name" ]]; then
  exit 0
fi

mkdir -p "$bin"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod

work=$cache/src/dashboard-linter-$DASHBOARD_LINTER_VERSION
rm -rf "$work"
mkdir -p "$work"

log "resolving $module $DASHBOARD_LINTER_VERSION"
upstream_mod=$(cd "$work" && go mod download -json "$module@$DASHBOARD_LINTER_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
if [[ -z $upstream_mod || ! -f $upstream_mod ]]; then
  log "could not download $module@$DASHBOARD_LINTER_VERSION"
  exit 1
fi

# A local module standing in for github.com/grafana/grafana/apps/dashboard:
# package pkg/apis/dashboard/v2 with the types and fields the linter's
# lint/v2.go reads, decoding the v2 schema's JSON (kinds as {"kind", "spec"}).
write_apps_dashboard_stub() {
  local dir=$1
  mkdir -p "$dir/pkg/apis/dashboard/v2"
  printf 'module %s\n\ngo 1.24\n' "$apps_dashboard" >"$dir/go.mod"
  cat >"$dir/pkg/apis/dashboard/v2/types.go" <<'EOF'
// Package v2 stands in for Grafana's dashboard v2 schema types, holding only
// what github.com/grafana/dashboard-linter reads. Written for
// helm-drift-exporter's scripts/build-dashboard-linter.sh.
package v2

import (
	"encoding/json"
	"fmt"
)

type DashboardSpec struct {
	Title       string                         `json:"title"`
	Editable    *bool                          `json:"editable,omitempty"`
	Elements    map[string]DashboardElement    `json:"elements"`
	Variables   []DashboardVariableKind        `json:"variables"`
	Annotations []DashboardAnnotationQueryKind `json:"annotations"`
}

// DashboardElement is a Panel or a LibraryPanel, told apart by "kind".
type DashboardElement struct {
	PanelKind        *DashboardPanelKind
	LibraryPanelKind *DashboardLibraryPanelKind
}

func (e *DashboardElement) UnmarshalJSON(b []byte) error {
	kind, err := kindOf(b)
	if err != nil {
		return err
	}
	switch kind {
	case "Panel":
		e.PanelKind = &DashboardPanelKind{}
		return json.Unmarshal(b, e.PanelKind)
	case "LibraryPanel":
		e.LibraryPanelKind = &DashboardLibraryPanelKind{}
		return json.Unmarshal(b, e.LibraryPanelKind)
	}
	return fmt.Errorf("unknown element kind %q", kind)
}

type DashboardPanelKind struct {
	Kind string             `json:"kind"`
	Spec DashboardPanelSpec `json:"spec"`
}

type DashboardLibraryPanelKind struct {
	Kind string                 `json:"kind"`
	Spec map[string]interface{} `json:"spec"`
}

type DashboardPanelSpec struct {
	Id          float64                 `json:"id"`
	Title       string                  `json:"title"`
	Description string                  `json:"description"`
	Data        DashboardQueryGroupKind `json:"data"`
	VizConfig   DashboardVizConfigKind  `json:"vizConfig"`
}

type DashboardQueryGroupKind struct {
	Kind string                  `json:"kind"`
	Spec DashboardQueryGroupSpec `json:"spec"`
}

type DashboardQueryGroupSpec struct {
	Queries []DashboardPanelQueryKind `json:"queries"`
}

type DashboardPanelQueryKind struct {
	Kind string                  `json:"kind"`
	Spec DashboardPanelQuerySpec `json:"spec"`
}

type DashboardPanelQuerySpec struct {
	Query  DashboardDataQueryKind `json:"query"`
	RefId  string                 `json:"refId"`
	Hidden bool                   `json:"hidden"`
}

type DashboardDataQueryKind struct {
	Kind       string                     `json:"kind"`
	Group      string                     `json:"group"`
	Version    string                     `json:"version"`
	Datasource *DashboardDataQueryKindRef `json:"datasource,omitempty"`
	Spec       map[string]interface{}     `json:"spec"`
}

type DashboardDataQueryKindRef struct {
	Name *string `json:"name,omitempty"`
}

type DashboardVizConfigKind struct {
	Kind    string                 `json:"kind"`
	Group   string                 `json:"group"`
	Version string                 `json:"version"`
	Spec    DashboardVizConfigSpec `json:"spec"`
}

type DashboardVizConfigSpec struct {
	Options     map[string]interface{} `json:"options"`
	FieldConfig map[string]interface{} `json:"fieldConfig"`
}

type DashboardAnnotationQueryKind struct {
	Kind string                       `json:"kind"`
	Spec DashboardAnnotationQuerySpec `json:"spec"`
}

type DashboardAnnotationQuerySpec struct {
	Query DashboardDataQueryKind `json:"query"`
	Name  string                 `json:"name"`
}

type DashboardVariableRefresh string

const (
	DashboardVariableRefreshNever              DashboardVariableRefresh = "never"
	DashboardVariableRefreshOnDashboardLoad    DashboardVariableRefresh = "onDashboardLoad"
	DashboardVariableRefreshOnTimeRangeChanged DashboardVariableRefresh = "onTimeRangeChanged"
)

// The spec of a query variable: its query is a data query.
type DashboardQueryVariableSpec struct {
	Name     string                   `json:"name"`
	Label    *string                  `json:"label,omitempty"`
	Multi    bool                     `json:"multi"`
	AllValue *string                  `json:"allValue,omitempty"`
	Refresh  DashboardVariableRefresh `json:"refresh"`
	Query    DashboardDataQueryKind   `json:"query"`
}

// The spec of every other variable kind: its query, if any, is a string.
type DashboardVariableSpec struct {
	Name     string                   `json:"name"`
	Label    *string                  `json:"label,omitempty"`
	Multi    bool                     `json:"multi"`
	AllValue *string                  `json:"allValue,omitempty"`
	Refresh  DashboardVariableRefresh `json:"refresh"`
	PluginId string                   `json:"pluginId"`
	Query    string                   `json:"query"`
}

type DashboardQueryVariableKind struct {
	Kind string                     `json:"kind"`
	Spec DashboardQueryVariableSpec `json:"spec"`
}

type DashboardOtherVariableKind struct {
	Kind string                `json:"kind"`
	Spec DashboardVariableSpec `json:"spec"`
}

// DashboardVariableKind is one of the variable kinds, told apart by "kind".
type DashboardVariableKind struct {
	QueryVariableKind      *DashboardQueryVariableKind
	DatasourceVariableKind *DashboardOtherVariableKind
	CustomVariableKind     *DashboardOtherVariableKind
	IntervalVariableKind   *DashboardOtherVariableKind
	ConstantVariableKind   *DashboardOtherVariableKind
	TextVariableKind       *DashboardOtherVariableKind
	AdhocVariableKind      *DashboardOtherVariableKind
	GroupByVariableKind    *DashboardOtherVariableKind
	SwitchVariableKind     *DashboardOtherVariableKind
}

func (v *DashboardVariableKind) UnmarshalJSON(b []byte) error {
	kind, err := kindOf(b)
	if err != nil {
		return err
	}
	if kind == "QueryVariable" {
		v.QueryVariableKind = &DashboardQueryVariableKind{}
		return json.Unmarshal(b, v.QueryVariableKind)
	}
	other := &DashboardOtherVariableKind{}
	switch kind {
	case "DatasourceVariable":
		v.DatasourceVariableKind = other
	case "CustomVariable":
		v.CustomVariableKind = other
	case "IntervalVariable":
		v.IntervalVariableKind = other
	case "ConstantVariable":
		v.ConstantVariableKind = other
	case "TextVariable":
		v.TextVariableKind = other
	case "AdhocVariable":
		v.AdhocVariableKind = other
	case "GroupByVariable":
		v.GroupByVariableKind = other
	case "SwitchVariable":
		v.SwitchVariableKind = other
	default:
		return fmt.Errorf("unknown variable kind %q", kind)
	}
	// A custom variable's query etc. is a string; tolerate other shapes.
	var raw struct {
		Kind string                     `json:"kind"`
		Spec map[string]json.RawMessage `json:"spec"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	other.Kind = raw.Kind
	if q, ok := raw.Spec["query"]; ok {
		var s string
		if json.Unmarshal(q, &s) != nil {
			delete(raw.Spec, "query")
		}
	}
	spec, err := json.Marshal(raw.Spec)
	if err != nil {
		return err
	}
	return json.Unmarshal(spec, &other.Spec)
}

func kindOf(b []byte) (string, error) {
	var k struct {
		Kind string `json:"kind"`
	}
	if err := json.Unmarshal(b, &k); err != nil {
		return "", err
	}
	return k.Kind, nil
}
EOF
}

# Every replace directive of the linter's go.mod, one `old => new` per line,
# whether written as `replace a => b` or inside a `replace ( ... )` block.
replaces() {
  awk '
    /^replace[[:space:]]*\(/ { block = 1; next }
    block && /^[[:space:]]*\)/ { block = 0; next }
    block { sub(/\/\/.*/, ""); if ($0 ~ /=>/) print; next }
    /^replace[[:space:]]/ { sub(/^replace[[:space:]]+/, ""); sub(/\/\/.*/, ""); print }
  ' "$1" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//'
}

# The linter's lint/v2.go imports one package of Grafana's
# github.com/grafana/grafana/apps/dashboard (the types of the v2 dashboard
# schema) only to convert v2 dashboards into its classic model. The module proxy
# here does not serve the pseudo-version it requires (403 "This module version
# is not available", and no other version of it is in the checksum database),
# and that module would pull in Grafana's app SDK and Kubernetes. When it cannot
# be downloaded, the wrapper replaces it with a small local module holding just
# the fields that conversion reads, under the v2 schema's JSON names. Classic
# dashboards (this project's) never touch it.
apps_dashboard=github.com/grafana/grafana/apps/dashboard
apps_dashboard_version=$(sed -n "s#^[[:space:]]*$apps_dashboard \(v[^[:space:]]*\).*#\1#p" "$upstream_mod" | head -n1)
stub=
if [[ -n $apps_dashboard_version ]] && ! (cd "$work" && go mod download "$apps_dashboard@$apps_dashboard_version" 2>/dev/null); then
  log "$apps_dashboard@$apps_dashboard_version is not available: using a local stand-in for its dashboard/v2 types"
  stub=./grafana-apps-dashboard
  write_apps_dashboard_stub "$work/grafana-apps-dashboard"
fi

{
  echo "module hde.local/dashboard-linter-wrapper"
  echo
  grep -E '^(go|godebug) ' "$upstream_mod"
  echo
  echo "require $module $DASHBOARD_LINTER_VERSION"
  echo
  replaces "$upstream_mod" | while read -r line; do
    [[ -n $line ]] && echo "replace $line"
  done
  if [[ -n $stub ]]; then
    echo "replace $apps_dashboard => $stub"
  fi
} >"$work/go.mod"

start=$SECONDS
(
  cd "$work"
  log "fetching modules (first run downloads a few hundred MB)"
  go get "$module@$DASHBOARD_LINTER_VERSION"
  log "building dashboard-linter $DASHBOARD_LINTER_VERSION"
  go build -trimpath -ldflags "-s -w" -o "$bin/$name.tmp" "$module"
)
mv "$bin/$name.tmp" "$bin/$name"
rm -rf "$work"
log "built $bin/$name in $((SECONDS - start))s"
