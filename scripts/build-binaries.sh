#!/usr/bin/env bash
# Builds the real control-plane and Helm binaries from the Go module proxy with
# the machine's Go, and caches them by version. Safe to re-run: a cached binary
# is reused; only what is missing is built.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

cache=${HDE_CACHE_DIR:-$HOME/.cache/helm-drift-exporter}
bin=$cache/bin
mkdir -p "$bin"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod

log() { printf '[build-binaries] %s\n' "$*" >&2; }

have() { [[ -x "$bin/$1" ]]; }

k8s_ldflags() {
  local v=${KUBERNETES_VERSION#v} major minor date
  major=${v%%.*}
  minor=${v#*.}; minor=${minor%%.*}
  date=2000-01-01T00:00:00Z # fixed: reproducible binaries, and the date is not what tests check
  local flags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$date"
  done
  printf '%s' "$flags"
}

# k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them with
# ./staging/...; a wrapper module pins each one to the matching v0.X.Y instead.
build_kubernetes() {
  local apiserver=kube-apiserver-$KUBERNETES_VERSION kubectl=kubectl-$KUBERNETES_VERSION etcd=etcd-$ETCD_VERSION
  if have "$apiserver" && have "$kubectl" && have "$etcd"; then return; fi
  local work=$cache/src/kubernetes-$KUBERNETES_VERSION staging_version=v0.${KUBERNETES_VERSION#v1.}
  mkdir -p "$work"
  log "resolving k8s.io/kubernetes $KUBERNETES_VERSION"
  local upstream_mod
  upstream_mod=$(cd "$work" && go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  {
    echo "module hde.local/kubernetes-wrapper"
    echo
    grep -E '^(go|godebug) ' "$upstream_mod"
    echo
    echo "require k8s.io/kubernetes $KUBERNETES_VERSION"
    echo
    echo "replace ("
    sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$upstream_mod" |
      while read -r m; do echo "	$m => $m $staging_version"; done
    echo ")"
  } >"$work/go.mod"
  (
    cd "$work"
    log "fetching modules for kube-apiserver, kubectl and etcd (first run downloads several hundred MB)"
    go get "k8s.io/kubernetes/cmd/kube-apiserver@$KUBERNETES_VERSION" \
      "k8s.io/kubernetes/cmd/kubectl@$KUBERNETES_VERSION" \
      "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
    local flags
    flags=$(k8s_ldflags)
    log "building kube-apiserver $KUBERNETES_VERSION"
    go build -trimpath -ldflags "$flags" -o "$bin/$apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver
    log "building kubectl $KUBERNETES_VERSION"
    go build -trimpath -ldflags "$flags" -o "$bin/$kubectl.tmp" k8s.io/kubernetes/cmd/kubectl
    log "building etcd $ETCD_VERSION"
    go build -trimpath -ldflags "-s -w" -o "$bin/$etcd.tmp" go.etcd.io/etcd/server/v3
  )
  for f in "$apiserver" "$kubectl" "$etcd"; do mv "$bin/$f.tmp" "$bin/$f"; done
}

# helm has no replace directives, so `go install module@version` works as is.
build_helm() {
  local major=$1 version=$2 name=helm-$2
  if have "$name"; then return; fi
  local k8s=${KUBERNETES_VERSION#v} flags="-s -w"
  local kmajor=${k8s%%.*} kminor=${k8s#*.}; kminor=${kminor%%.*}
  # Helm reports its version only through ldflags (v4's source says "v4.3" for every 4.3.x).
  flags+=" -X helm.sh/helm/v$major/internal/version.version=$version"
  flags+=" -X helm.sh/helm/v$major/internal/version.gitTreeState=clean"
  if [[ $major == 3 ]]; then
    # Helm 3 assumes Kubernetes v1.20 offline (template/lint) unless told otherwise;
    # Helm 4 derives it from the client-go version in its build info.
    flags+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=$kmajor -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$kminor"
    flags+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=$kmajor -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$kminor"
  fi
  log "building helm $version"
  local gobin
  gobin=$(mktemp -d)
  GOBIN=$gobin go install -trimpath -ldflags "$flags" "helm.sh/helm/v$major/cmd/helm@$version"
  mv "$gobin/helm" "$bin/$name"
  rmdir "$gobin"
}

# A tool from a Debian package, extracted (not installed: no service scripts run).
debian_tool() {
  local package=$1 tool=$2 version=$3 name=$2-$3
  if have "$name"; then return; fi
  if [[ -z $(apt-cache policy "$package" 2>/dev/null | sed -n 's/ *Candidate: //p' | grep -v none) ]]; then
    log "refreshing Debian package lists"
    apt-get update -qq
  fi
  local work
  work=$(mktemp -d)
  chmod 777 "$work" # apt's unprivileged download user writes here
  log "extracting $tool from Debian's $package $version"
  (cd "$work" && apt-get download -qq "$package=$version" && dpkg -x ./*.deb root)
  mv "$work/root/usr/bin/$tool" "$bin/$name"
  rm -rf "$work"
}

build_kubernetes
debian_tool prometheus promtool "$PROMTOOL_DEBIAN_VERSION"
build_helm 3 "$HELM3_VERSION"
build_helm 4 "$HELM4_VERSION"
log "binaries ready in $bin"
