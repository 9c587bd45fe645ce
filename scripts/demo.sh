#!/usr/bin/env bash
# rackboot's demo: boots one UEFI virtual machine (OVMF's own PXE client)
# through rackboot in authoritative mode and prints what rackboot recorded:
# `rackboot machines` and the machine's timeline, from DHCP offer to the
# booted OS calling back. Takes about a minute.
#
#   sudo bash scripts/demo.sh
#
# Everything happens inside a network namespace of its own (rbdemo-<pid>),
# removed on exit. The wiring is the lab's (lab/, TestDemo); this script
# installs what it needs and cleans up if the run is cut short.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ $(id -u) -ne 0 ]]; then
	echo "demo.sh: run as root (sudo bash scripts/demo.sh)" >&2
	exit 1
fi
bash scripts/setup-debian.sh
export PATH=/usr/local/go/bin:$PATH:/usr/local/sbin:/usr/sbin:/sbin

ns=rbdemo-$$
log=$(mktemp)

# cleanup removes the demo's namespace and anything still running in it,
# in case the test binary was killed before its own cleanup ran.
cleanup() {
	local pids
	pids=$(ip netns pids "$ns" 2>/dev/null || true)
	if [[ -n $pids ]]; then
		# shellcheck disable=SC2086 # one pid per word
		kill -KILL $pids 2>/dev/null || true
	fi
	ip netns del "$ns" 2>/dev/null || true
	rm -f "$log"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "demo.sh: building rackboot and the tiny test OS"
go build -o /dev/null ./cmd/rackboot
bash lab/tinyos/build.sh >/dev/null

echo "demo.sh: booting one UEFI machine through rackboot in namespace $ns"
status=0
RACKBOOT_DEMO=1 RACKBOOT_LAB_NETNS=$ns \
	go test -count=1 -timeout 10m -v -run '^TestDemo$' ./lab/ 2>&1 | tee "$log" || status=$?

if [[ $status -ne 0 ]] || ! grep -q '^--- PASS: TestDemo' "$log"; then
	echo "demo.sh: the machine did not boot through rackboot (see above)" >&2
	exit 1
fi
echo "demo.sh: ok: the machine booted through rackboot"
