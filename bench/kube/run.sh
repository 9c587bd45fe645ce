#!/usr/bin/env bash
# Measures the Kubernetes store backend with 10,000 Machines in a real API
# server (started on 127.0.0.1 by internal/kubetest): replica start-up to
# synced caches and its heap, machine API page latency, DHCP answer
# latency. Needs the control plane binaries (tools/kube/build.sh, or
# RACKBOOT_KUBE_BUILD=1). Usage: bash bench/kube/run.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-3}
go test ./bench/kube -run '^$' -bench Scale -benchtime "${runs}x" -timeout 20m 2>&1 |
	grep -E '^(fleet|Benchmark|ok|FAIL|---)'
