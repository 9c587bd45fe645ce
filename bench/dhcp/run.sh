#!/usr/bin/env bash
# DHCP load benchmark: Debian's perfdhcp (package kea-admin) in one network
# namespace against rackboot in authoritative mode, with durable leases, in
# another. Every packet stays inside the two namespaces this script creates.
#
# usage: sudo bash bench/dhcp/run.sh [rate ...]    (default rates: 500 2000 5000)
# perfdhcp waits 2 s at the end (-W) for answers still in flight, so only
# real losses count as drops.
# env:   DURATION seconds per rate (default 10), RACKBOOT binary (default: build it)
set -euo pipefail
cd "$(dirname "$0")/../.."

rates=("$@")
[ ${#rates[@]} -gt 0 ] || rates=(500 2000 5000)
duration=${DURATION:-10}
command -v perfdhcp >/dev/null || { echo "perfdhcp missing: apt-get install kea-admin" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "run as root: the benchmark creates network namespaces" >&2; exit 1; }

work=$(mktemp -d)
srv="rbb-srv-$$"
cli="rbb-cli-$$"
pid=""
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	ip netns del "$srv" 2>/dev/null || true
	ip netns del "$cli" 2>/dev/null || true
	[ -n "${KEEP:-}" ] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT

bin=${RACKBOOT:-$work/rackboot}
[ -n "${RACKBOOT:-}" ] || go build -o "$bin" ./cmd/rackboot

ip netns add "$srv"
ip netns add "$cli"
ip link add rbb-s type veth peer name rbb-c
ip link set rbb-s netns "$srv"
ip link set rbb-c netns "$cli"
ip -n "$srv" addr add 10.77.0.1/16 dev rbb-s
ip -n "$cli" addr add 10.77.0.2/16 dev rbb-c
for ns in "$srv" "$cli"; do ip -n "$ns" link set lo up; done
ip -n "$srv" link set rbb-s up
ip -n "$cli" link set rbb-c up
printf 'profiles: []\nmachines: []\n' >"$work/inventory.yaml"
mkdir -p "$work/assets"

echo "rate/s  sent  completed  completed/s  drops(DO)  drops(RA)  drop%"
for rate in "${rates[@]}"; do
	rm -rf "$work/data"
	ip netns exec "$srv" "$bin" serve --interface rbb-s --mode authoritative \
		--subnet 10.77.0.0/16 --pool-start 10.77.1.0 --pool-end 10.77.255.250 \
		--router 10.77.0.1 --lease-time 1h --http-addr 127.0.0.1:8080 --tftp-addr 127.0.0.1:6969 \
		--inventory "$work/inventory.yaml" --assets-dir "$work/assets" --data-dir "$work/data" \
		--log-level warn 2>"$work/rackboot.log" &
	pid=$!
	sleep 1
	out=$(ip netns exec "$cli" perfdhcp -4 -l rbb-c -r "$rate" -p "$duration" -R 60000 -W 2000000 10.77.0.1 2>&1 || true)
	echo "$out" >"$work/perfdhcp-$rate.txt"
	kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
	echo "$out" | awk -v rate="$rate" -v dur="$duration" '
		/Statistics for: DISCOVER-OFFER/ { sec="DO" }
		/Statistics for: REQUEST-ACK/ { sec="RA" }
		/sent packets:/ { sent[sec]=$3 }
		/received packets:/ { recv[sec]=$3 }
		/drops:/ { drops[sec]=$2 }
		END {
			pct = sent["DO"] ? 100 * (sent["DO"] - recv["RA"]) / sent["DO"] : 0
			printf "%6d  %5d  %9d  %11.0f  %9d  %9d  %5.2f\n", rate, sent["DO"], recv["RA"], recv["RA"]/dur, drops["DO"], drops["RA"], pct
		}'
done
