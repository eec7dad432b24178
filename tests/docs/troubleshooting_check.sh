#!/usr/bin/env bash
# Runs the udp-fanout and nexus commands of docs/troubleshooting.md against live daemons in
# a network namespace of their own, and checks that each works and shows what the page
# says it shows (the clsact qdisc, the fanout_ingress filter, the listener's mode, ready,
# the resync answer...). Device and port names are this test's instead of eth0/5514.
# The bng commands (XDP, dhcp_fastpath) are exercised by the bng end-to-end tests.
# Usage: troubleshooting_check.sh <nexus binary> <udp-fanout binary>
set -euo pipefail
nexus=$1
fanout=$2
if [[ $(id -u) -ne 0 ]]; then echo "SKIP: needs root (network namespace, TC, BPF)"; exit 77; fi
for tool in bpftool tc ss nstat curl; do
  command -v "$tool" >/dev/null || { echo "SKIP: no $tool"; exit 77; }
done
ns="integts$$"
dir=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  ip netns del "$ns" 2>/dev/null || true
  [[ -n ${KEEP:-} ]] || rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; tail -5 "$dir"/*.log >&2 || true; exit 1; }
in_ns() { ip netns exec "$ns" "$@"; }
# `expect <what> <pattern> <command...>`: the command succeeds and prints the pattern.
expect() {
  local what=$1 pattern=$2
  shift 2
  local out
  out=$("$@" 2>&1) || fail "$what: '$*' failed: $out"
  grep -qE -- "$pattern" <<<"$out" || fail "$what: '$*' does not show /$pattern/: $out"
  echo "ok: $what"
}

ip netns add "$ns"
in_ns ip link set lo up
in_ns ip link add tsa type veth peer name tsb
in_ns ip addr add 10.77.0.1/24 dev tsa
in_ns ip addr add 10.77.0.2/24 dev tsb
in_ns ip link set tsa up
in_ns ip link set tsb up
in_ns sysctl -qw net.ipv4.ip_forward=1   # the TC engine forwards (it says so when off)

# udp-fanout: one TC eBPF listener on tsa, one userspace listener.
cat >"$dir/fanout.toml" <<TOML
[[listeners]]
name = "syslog"
bind = "0.0.0.0:5614"
interface = "tsa"
mode = "tc_ebpf"
[[listeners.downstream]]
address = "10.77.0.2:6000"
[[listeners]]
name = "traps"
bind = "0.0.0.0:5615"
mode = "userspace"
preserve_source = false
[[listeners.downstream]]
address = "10.77.0.2:6001"
[health]
enabled = false
[tc]
pin_path = "/sys/fs/bpf/integts"
[metrics]
bind = "127.0.0.1:9190"
TOML
# `ip netns exec` remounts /sys: bpffs is mounted again for the pins (TESTBED.md).
# Not through in_ns: a backgrounded function is a subshell, and $! would be the subshell's
# PID, not the daemon's (killing it would leave the daemon running).
ip netns exec "$ns" bash -c 'mount -t bpf bpf /sys/fs/bpf && exec "$0" run --config "$1"' \
  "$fanout" "$dir/fanout.toml" >"$dir/fanout.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do in_ns curl -sf 127.0.0.1:9190/health/ready >/dev/null && break; sleep 0.1; done

expect "fanout live" "200 OK" in_ns curl -si 127.0.0.1:9190/health/live
expect "fanout ready" "200 OK" in_ns curl -si 127.0.0.1:9190/health/ready
expect "clsact qdisc" "qdisc clsact" in_ns tc qdisc show dev tsa
expect "TC filter" "direct-action.*name fanout_ingress" in_ns tc filter show dev tsa ingress
expect "bpftool net" "fanout_ingress" in_ns bpftool net show dev tsa
prog_id=$(in_ns tc filter show dev tsa ingress | grep -oE ' id [0-9]+' | head -1 | awk '{print $2}')
expect "bpftool prog by id" "name fanout_ingress" bpftool prog show id "$prog_id"
expect "listener mode" 'udp_fanout_listener_info\{.*mode="tc_ebpf"' \
  in_ns curl -s 127.0.0.1:9190/metrics
expect "UDP sockets" "udp-fanout" in_ns ss -ulpn 'sport = :5615'
expect "socket memory" "skmem" in_ns ss -uamn 'sport = :5615'
expect "kernel UDP drops" "UdpRcvbufErrors" in_ns nstat -az UdpRcvbufErrors UdpInErrors
expect "TCP listeners" "udp-fanout" in_ns ss -tlpn

# nexus: a lone replica.
cat >"$dir/nexus.toml" <<TOML
[server]
bind = "127.0.0.1"
[node]
id = "nexus-0"
[storage]
path = "$dir/nexus-data"
[graceful_shutdown]
grace_period = "100ms"
TOML
ip netns exec "$ns" "$nexus" run --config "$dir/nexus.toml" >"$dir/nexus.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do in_ns curl -sf 127.0.0.1:9000/ready >/dev/null && break; sleep 0.1; done
expect "nexus ready" '"initial_sync"' in_ns curl -s 127.0.0.1:9000/ready
expect "nexus metrics" "^nexus_ready 1" in_ns curl -s 127.0.0.1:9002/metrics
expect "nexus nodes" '"nodes"' in_ns curl -s 127.0.0.1:9000/api/v1/nodes
# A lone replica has no peers to resync with: 503 and the reason (202 with peers).
expect "nexus resync" "replication is not running" in_ns curl -s -X POST 127.0.0.1:9000/admin/resync
expect "peer connections" "State" in_ns ss -tnp 'dport = :33123 or sport = :33123'
echo "docs.troubleshooting: ok"
