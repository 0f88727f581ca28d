#!/usr/bin/env bash
# Builds the pinned Kubernetes components and code generators that Flotilla's
# tests and local fleet use, from their Go modules (hack/tools/go.mod), into a
# cache folder outside git. A binary that is already there is not rebuilt.
#
#   hack/build-tools.sh [--print-dir] [NAME ...]
#
# NAME is one of: etcd kube-apiserver kube-controller-manager kube-scheduler
# controller-gen kwok golangci-lint helm. With no NAME, the default set (etcd,
# kube-apiserver, kube-controller-manager, controller-gen) is built. kwok (for
# `flotilla local up --workloads`), golangci-lint (for `make lint`) and helm (for the
# test of docs/install.md) come from modules of their own, hack/kwok, hack/lint and
# hack/helm, and are built only when named.
# golangci-lint is cached as golangci-lint-<version>, so a new pin builds anew.
#
# The cache folder is $FLOTILLA_TOOLS_DIR, or else
# ${XDG_CACHE_HOME:-$HOME/.cache}/flotilla/tools-<pin>; `flotilla local up`
# looks in the same place.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
pin=$(cat "$here/tools/PIN")
dir=${FLOTILLA_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/flotilla/tools-$pin}

if [ "${1:-}" = "--print-dir" ]; then
  echo "$dir"
  exit 0
fi

names=("$@")
[ ${#names[@]} -gt 0 ] || names=(etcd kube-apiserver kube-controller-manager controller-gen)

kube_version=$(awk '$1=="k8s.io/kubernetes"{print $2; exit}' "$here/tools/go.mod")
minor=$(echo "$kube_version" | cut -d. -f2)
version_flags="-X k8s.io/component-base/version.gitVersion=$kube_version \
 -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor \
 -X k8s.io/component-base/version.gitTreeState=clean \
 -X k8s.io/client-go/pkg/version.gitVersion=$kube_version \
 -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor"

package_of() {
  case "$1" in
    etcd) echo go.etcd.io/etcd/server/v3 ;;
    kube-apiserver|kube-controller-manager|kube-scheduler) echo "k8s.io/kubernetes/cmd/$1" ;;
    controller-gen) echo sigs.k8s.io/controller-tools/cmd/controller-gen ;;
    kwok) echo sigs.k8s.io/kwok/cmd/kwok ;;
    golangci-lint) echo github.com/golangci/golangci-lint/v2/cmd/golangci-lint ;;
    helm) echo helm.sh/helm/v4/cmd/helm ;;
    *) echo "unknown tool: $1 (want etcd, kube-apiserver, kube-controller-manager, kube-scheduler, controller-gen, kwok, golangci-lint or helm)" >&2; return 1 ;;
  esac
}

# module_of is the folder of the Go module that pins a tool.
module_of() {
  case "$1" in
    kwok) echo "$here/kwok" ;;
    golangci-lint) echo "$here/lint" ;;
    helm) echo "$here/helm" ;;
    *) echo "$here/tools" ;;
  esac
}

# file_of is the name of a tool's binary in the cache folder.
lint_version=$(awk '$1=="require" && $2=="github.com/golangci/golangci-lint/v2"{print $3; exit}' "$here/lint/go.mod")
helm_version=$(awk '$1=="require" && $2=="helm.sh/helm/v4"{print $3; exit}' "$here/helm/go.mod")
file_of() {
  case "$1" in
    golangci-lint) echo "golangci-lint-$lint_version" ;;
    helm) echo "helm-$helm_version" ;;
    *) echo "$1" ;;
  esac
}

mkdir -p "$dir"
todo=()
for n in "${names[@]}"; do
  package_of "$n" >/dev/null
  if [ ! -x "$dir/$(file_of "$n")" ] || { [ "$n" = kwok ] && [ ! -s "$dir/kwok-stages.yaml" ]; }; then
    todo+=("$n")
  fi
done
if [ ${#todo[@]} -eq 0 ]; then
  exit 0
fi

echo "building ${todo[*]} into $dir (the first build takes several minutes on 2 cores)" >&2
i=0
for n in "${todo[@]}"; do
  i=$((i + 1))
  pkg=$(package_of "$n")
  echo "[$i/${#todo[@]}] go build $pkg" >&2
  start=$(date +%s)
  out=$(file_of "$n")
  # Another build (a test, a second checkout) may be writing the same tool at the same
  # time: each writes a file of its own and renames it into place, so neither fails.
  tmp="$dir/$out.tmp.$$"
  (cd "$(module_of "$n")" && CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w $version_flags" -o "$tmp" "$pkg")
  mv -f "$tmp" "$dir/$out"
  if [ "$n" = kwok ]; then
    # kwok runs with its default stages, written out by hack/kwok/stages.
    (cd "$(module_of kwok)" && go run ./stages > "$dir/kwok-stages.yaml.tmp.$$")
    mv -f "$dir/kwok-stages.yaml.tmp.$$" "$dir/kwok-stages.yaml"
  fi
  echo "[$i/${#todo[@]}] $n built in $(( $(date +%s) - start ))s" >&2
done
