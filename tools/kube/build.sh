#!/usr/bin/env bash
# Builds the real Kubernetes control plane that rackboot's integration tests
# run on loopback: etcd, kube-apiserver, kube-controller-manager and kubectl,
# from the Go module proxy, pinned by this folder's go.mod and go.sum.
#
# The binaries land in a cache folder outside the repository, keyed by
# version, so a warm run costs nothing:
#
#   RACKBOOT_KUBE_BIN   destination (default /var/cache/rackboot/kube/v1.37.2)
#   RACKBOOT_KUBECTL=0  skip kubectl (the tests do not need it)
#
# A binary that already exists is not rebuilt; delete it to force a build.
# A cold build takes about 13 minutes on 2 cores and up to 3 GiB of memory
# for one link; run it under nice when the machine has other work.
set -euo pipefail

kube_version=v1.37.2
etcd_version=v3.7.3
bin=${RACKBOOT_KUBE_BIN:-/var/cache/rackboot/kube/$kube_version}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

log() { echo "tools/kube/build.sh: $*" >&2; }

# version_flags prints the -X flags that make the servers report
# $kube_version instead of v0.0.0-master.
version_flags() {
	local major=${kube_version#v}
	local minor=${major#*.}
	major=${major%%.*}
	minor=${minor%%.*}
	local pkg
	for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		printf -- '-X %s.gitVersion=%s ' "$pkg" "$kube_version"
		printf -- '-X %s.gitMajor=%s ' "$pkg" "$major"
		printf -- '-X %s.gitMinor=%s ' "$pkg" "$minor"
		printf -- '-X %s.gitTreeState=clean ' "$pkg"
	done
}

# build compiles one command into $bin/<name> unless it is already there.
# It writes to a temporary name first, so a killed build leaves no binary
# that looks complete.
build() {
	local name=$1 pkg=$2
	if [[ -x $bin/$name ]]; then
		log "$name: present in $bin"
		return
	fi
	log "$name: building $pkg"
	local start=$SECONDS
	(cd "$here" && go build -trimpath -ldflags "-s -w $(version_flags)" \
		-o "$bin/.$name.tmp" "$pkg")
	mv "$bin/.$name.tmp" "$bin/$name"
	log "$name: built in $((SECONDS - start)) s"
}

mkdir -p "$bin"
# Tests in several packages may call this script at once: one builds, the
# others wait for it and then find the binaries present.
exec 9>"$bin/.lock"
flock 9

build etcd go.etcd.io/etcd/server/v3
build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
build kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager
if [[ ${RACKBOOT_KUBECTL:-1} != 0 ]]; then
	build kubectl k8s.io/kubernetes/cmd/kubectl
fi
log "ok: kubernetes $kube_version and etcd $etcd_version in $bin"
