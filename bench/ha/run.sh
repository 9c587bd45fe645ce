#!/usr/bin/env bash
# Replica DHCP benchmark (issue #7): two rackboot replicas sharing one
# Kubernetes store namespace, each in its own network namespace on one
# bridge, answer perfdhcp (package kea-admin) in a third. The lab test
# TestLabReplicasDHCP does the work against the real kube-apiserver of
# internal/kubetest; this script runs it with many clients and prints its
# figures. Every packet stays inside the namespaces the test creates.
#
# usage: sudo bash bench/ha/run.sh
# env:   CLIENTS distinct clients, one DORA each (default 50000)
#        RATE exchanges started per second (default 250; each ACK is one
#             create in the API server)
#        KEEP=1 keeps the replicas' logs, perfdhcp's report and the pcap
set -euo pipefail
cd "$(dirname "$0")/../.."

clients=${CLIENTS:-50000}
rate=${RATE:-250}
command -v perfdhcp >/dev/null || { echo "perfdhcp missing: apt-get install kea-admin" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "run as root: the benchmark creates network namespaces" >&2; exit 1; }

work=$(mktemp -d)
cleanup() { [ -n "${KEEP:-}" ] && echo "kept $work" || rm -rf "$work"; }
trap cleanup EXIT

# perfdhcp's own limit is 3x the nominal time plus 2 minutes; add set-up.
timeout=$((clients / rate * 3 + 600))s
start=$(date +%s)
status=0
RACKBOOT_HA_CLIENTS=$clients RACKBOOT_HA_RATE=$rate \
	go test ./lab -run '^TestLabReplicasDHCP$' -count=1 -v -timeout "$timeout" \
	-artifacts -outputdir "$work" >"$work/test.log" 2>&1 || status=$?
end=$(date +%s)

grep -o 'ha-dhcp: .*' "$work/test.log" | sed 's/^ha-dhcp: //' || true
grep -E -- '^(--- |FAIL|ok|PASS)|Error|want' "$work/test.log" | head -40 || true
echo "test wall time: $((end - start)) s (control plane start and set-up included)"
[ "$status" = 0 ] || { echo "TestLabReplicasDHCP failed (exit $status); log: $work/test.log" >&2; KEEP=1; }
exit "$status"
