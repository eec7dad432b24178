#!/usr/bin/env bash
# End-to-end DHCPv4 benchmark: bng against Kea's kea-dhcp4, same veth lab, same run.
# A relay agent in the client namespace (10.0.1.2, port 67) drives each server with
#   new        perfdhcp DORAs of subscribers never seen (bng: slow path, durable ACK)
#   returning  perfdhcp DORAs of subscribers holding a lease (bng: OFFER and ACK in XDP)
#   renewing   dhcp_relay_load: closed-loop REQUESTs for held leases, 64 in flight
#              (perfdhcp tops out near 16k DORA/s on two cores: below the fast path)
# and prints rates, p50/p99 latency and the bng/Kea ratios.
# Goals (issue 3): fast-path renewals >= 10x Kea, slow-path DORA >= Kea.
# Usage: bench/dhcp_e2e_bench.sh <bng binary> <dhcp_relay_load binary> [seconds per run]
#        (or: cmake --build build --target dhcp_e2e_bench)
# Env: RATES (perfdhcp offered DORA/s), RETURNING (returning subscribers). Needs root.
set -euo pipefail
usage="usage: dhcp_e2e_bench.sh <bng binary> <dhcp_relay_load binary> [seconds per run]"
bng=${1:?$usage}
relay_load=${2:?$usage}
seconds=${3:-3}
here=$(cd "$(dirname "$0")" && pwd)
if [[ $(id -u) -ne 0 ]]; then echo "dhcp_e2e_bench: needs root (namespaces, XDP)" >&2; exit 77; fi
for tool in perfdhcp kea-dhcp4; do
  command -v "$tool" >/dev/null || { echo "dhcp_e2e_bench: $tool missing (scripts/install-deps.sh)" >&2; exit 1; }
done

LAB="dbn$$"
# shellcheck source=../scripts/lib/bng-lab.sh
source "$here/../scripts/lib/bng-lab.sh"
KEA_PID=""
cleanup() {
  if [[ -n "$KEA_PID" ]]; then kill "$KEA_PID" 2>/dev/null; wait "$KEA_PID" 2>/dev/null || true; fi
  [[ -n ${stats_was:-} ]] && sysctl -qw kernel.bpf_stats_enabled="$stats_was"
  [[ -n ${rmem_was:-} ]] && sysctl -qw net.core.rmem_default="$rmem_was"
  lab_down
}
trap cleanup EXIT

# Both servers hand out the same /14 behind the relay 10.0.1.2, with 1 h leases.
export LAB_POOL_NETWORK=10.0.0.0/14 LAB_POOL_RANGE=10.0.2.0-10.3.255.250 LAB_LEASE_TIME=3600 \
  LAB_RENEWAL_TIME=1800 LAB_REBINDING_TIME=3150
lab_up
ip -n "$LAB_CLI" addr add 10.0.1.2/24 dev "$LAB_CLI"

# Kea as packaged: memfile leases persisted to CSV, UDP sockets (relayed traffic).
start_kea() {
  cat >"$LAB_DIR/kea.json" <<JSON
{ "Dhcp4": {
    "interfaces-config": { "interfaces": [ "$LAB_SRV" ], "dhcp-socket-type": "udp" },
    "lease-database": { "type": "memfile", "persist": true, "name": "$LAB_DIR/kea-leases.csv",
                        "lfc-interval": 0 },
    "valid-lifetime": 3600, "renew-timer": 1800, "rebind-timer": 3150,
    "subnet4": [ { "id": 1, "subnet": "10.0.0.0/14",
                   "pools": [ { "pool": "10.0.2.0 - 10.3.255.250" } ],
                   "option-data": [ { "name": "routers", "data": "10.0.1.1" },
                                    { "name": "domain-name-servers", "data": "10.0.1.1" } ] } ],
    "loggers": [ { "name": "kea-dhcp4", "severity": "WARN",
                   "output_options": [ { "output": "$LAB_DIR/kea.log" } ] } ] } }
JSON
  KEA_LOCKFILE_DIR=$LAB_DIR KEA_PIDFILE_DIR=$LAB_DIR \
    ip netns exec "$LAB_SRV" kea-dhcp4 -c "$LAB_DIR/kea.json" >>"$LAB_DIR/kea.out" 2>&1 &
  KEA_PID=$!
  for _ in $(seq 1 50); do
    ip netns exec "$LAB_SRV" ss -uln | grep -q '10.0.1.1:67' && return 0
    sleep 0.1
  done
  echo "kea-dhcp4 did not start:" >&2; cat "$LAB_DIR/kea.out" "$LAB_DIR/kea.log" >&2 || true
  return 1
}
stop_kea() { kill "$KEA_PID"; wait "$KEA_PID" 2>/dev/null || true; KEA_PID=""; }

# perfdhcp_run LOG BASE_MAC RANGE RATE: relayed DORAs offered at RATE/s for $seconds from
# clients drawn at random among RANGE MACs above BASE_MAC. Prints
# "<completed DORA/s> <lost %> <OFFER p50 ms> <OFFER p99> <ACK p50> <ACK p99>".
perfdhcp_run() {
  local log=$1 base=$2 range=$3 rate=$4
  ip netns exec "$LAB_CLI" perfdhcp -4 -l 10.0.1.2 -b "mac=$base" -R "$range" -r "$rate" \
    -p "$seconds" -W 500000 -x t 10.0.1.1 >"$log" 2>&1 || true
  # -x t lists "sent / received: <s> / <s>" for every completed exchange, per message pair.
  awk -v f="$log" '
    /^\*\*\*Timestamps for packets: DISCOVER-OFFER/ { out = f ".offer" }
    /^\*\*\*Timestamps for packets: REQUEST-ACK/ { out = f ".ack" }
    /^sent \/ received:/ && out { printf "%.6f\n", ($6 - $4) * 1000 > out }' "$log"
  local sent acks
  sent=$(awk '/^sent packets:/ { print $3; exit }' "$log")
  acks=$(awk '/^\*\*\*Statistics for: REQUEST-ACK/ { s = 1 } s && /^received packets:/ { print $3; exit }' "$log")
  awk -v sent="${sent:-0}" -v acks="${acks:-0}" -v secs="$seconds" 'BEGIN {
    printf "%.0f %.1f", acks / secs, (sent > 0 ? 100 * (sent - acks) / sent : 100) }'
  echo " $(percentile "$log.offer" 50) $(percentile "$log.offer" 99)" \
    "$(percentile "$log.ack" 50) $(percentile "$log.ack" 99)"
}

# percentile FILE P: the P-th percentile of the numbers in FILE (one per line), or "-".
percentile() {
  [[ -s $1 ]] || { echo -; return; }
  sort -g "$1" | awk -v p="$2" '{ v[NR] = $1 } END { i = int(NR * p / 100) + 1; if (i > NR) i = NR; printf "%.3f", v[i] }'
}

# sweep NAME MAC_BYTE RANGE: the offered rates in $RATES, rising, until more than 10% of the
# exchanges are lost; appends to results the best run that lost at most 1%
# ("NAME <DORA/s> <offered/s> <lost %> <latencies...>"). RANGE "new" gives each run
# subscribers never seen before; a number is a fixed set of returning subscribers.
sweep() {
  local name=$1 mac=$2 range=$3 pid=$4 best="" i=0 acks=0 cpu0 xdp0
  cpu0=$(process_cpu_ns "$pid"); xdp0=$(xdp_cpu_ns)
  for rate in $RATES; do
    local base="02:$mac:$(printf %02x $i):00:00:00" r
    if [[ $range == new ]]; then r=$(perfdhcp_run "$LAB_DIR/$name-$rate.log" "$base" 1000000 "$rate")
    else r=$(perfdhcp_run "$LAB_DIR/$name-$rate.log" "02:$mac:00:00:00:00" "$range" "$rate"); fi
    echo "  $name offered $rate/s: $r" >&2
    read -r done lost _ <<<"$r"
    acks=$((acks + done * seconds))
    if awk -v l="$lost" 'BEGIN { exit !(l <= 1) }'; then
      if [[ -z $best ]] || awk -v a="$done" -v b="${best%% *}" 'BEGIN { exit !(a > b) }'; then
        best="$done $rate ${r#* }"
      fi
    fi
    awk -v l="$lost" 'BEGIN { exit !(l > 10) }' && break
    i=$((i + 1))
  done
  results+=("$name ${best:-0 - - - - - -}")
  record_cpu "$name" $(($(process_cpu_ns "$pid") - cpu0)) $(($(xdp_cpu_ns) - xdp0)) "$acks"
}

# record_cpu NAME PROCESS_NS XDP_NS ACKS: the server's CPU time per completed exchange.
record_cpu() {
  cpu_per_ack+=("$1 $(awk -v p="$2" -v x="$3" -v n="$4" 'BEGIN {
    if (n > 0) printf "%.2f %.2f %.2f", (p + x) / n / 1000, p / n / 1000, x / n / 1000; else print "- - -" }')")
}

# process_cpu_ns PID: user + system CPU time the process has used, in ns.
process_cpu_ns() {
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.0f", ($14 + $15) * 1e9 / hz }' "/proc/$1/stat"
}
# xdp_cpu_ns: run time of the XDP program on the BNG interface (kernel.bpf_stats_enabled).
xdp_cpu_ns() {
  local id
  id=$(ip -n "$LAB_SRV" link show "$LAB_SRV" | sed -n 's/.*prog\/xdp id \([0-9]*\).*/\1/p')
  [[ -n $id ]] || { echo 0; return; }
  bpftool prog show id "$id" | sed -n 's/.*run_time_ns \([0-9]*\).*/\1/p' | grep . || echo 0
}

# renew_run NAME MAC_BYTE PID: dhcp_relay_load's closed loop; appends
# "NAME <ACKs/s> - <lost %> - - <ACK p50> <ACK p99>" to results and the server's CPU time
# per ACK (its process, plus the XDP program for bng) to cpu_per_ack.
renew_run() {
  local name=$1 pid=$3 out acks p50 p99 lost cpu0 xdp0 cpu1 xdp1
  # Everything but the measured loop (binding the clients) must stay out of the CPU count:
  # bind first with a throw-away loop, then measure a second one over the same leases.
  ip netns exec "$LAB_CLI" "$relay_load" --server 10.0.1.1 --relay 10.0.1.2 \
    --clients "$returning" --window 64 --seconds 0.5 --mac-prefix "02:$2" >/dev/null 2>&1 || true
  cpu0=$(process_cpu_ns "$pid"); xdp0=$(xdp_cpu_ns)
  out=$(ip netns exec "$LAB_CLI" "$relay_load" --server 10.0.1.1 --relay 10.0.1.2 \
    --clients "$returning" --window 64 --seconds "$seconds" --mac-prefix "02:$2" 2>&1) ||
    { echo "  $name: $out" >&2; results+=("$name 0 - - - - - -"); return; }
  cpu1=$(process_cpu_ns "$pid"); xdp1=$(xdp_cpu_ns)
  echo "  $name: $out" >&2
  acks=$(sed -n 's/.*acks_per_s=\([0-9]*\).*/\1/p' <<<"$out")
  p50=$(sed -n 's/.*p50_ms=\([0-9.]*\).*/\1/p' <<<"$out")
  p99=$(sed -n 's/.*p99_ms=\([0-9.]*\).*/\1/p' <<<"$out")
  lost=$(sed -n 's/.*lost=\([0-9]*\).*/\1/p' <<<"$out")
  results+=("$name $acks - $(awk -v l="$lost" -v a="$acks" -v s="$seconds" \
    'BEGIN { printf "%.1f", 100 * l / (l + a * s + 1) }') - - $p50 $p99")
  record_cpu "$name" $((cpu1 - cpu0)) $((xdp1 - xdp0)) $((acks * seconds))
}

# bench_server NAME PID MAC_BYTE...: new subscribers, returning ones (given their leases
# first, not measured), then renewals.
bench_server() {
  local name=$1 pid=$2
  shift
  sweep "$name-new" "$2" new "$pid"
  perfdhcp_run "$LAB_DIR/$name-warm.log" "02:$3:00:00:00:00" "$returning" 2000 >/dev/null
  sweep "$name-returning" "$3" "$returning" "$pid"
  renew_run "$name-renewing" "$4" "$pid"
}

RATES=${RATES:-2000 4000 6000 8000 10000 12000 16000 32000}
returning=${RETURNING:-1000}
echo "dhcp_e2e_bench: relayed DORAs through 10.0.1.2, ${seconds}s per offered rate ($RATES)," \
  "$returning returning subscribers; $(perfdhcp -v 2>&1 | head -1)"
results=()
cpu_per_ack=()
# The XDP program's run time is only counted while bpf_stats are on: on for this run.
stats_was=$(sysctl -n kernel.bpf_stats_enabled)
sysctl -qw kernel.bpf_stats_enabled=1
# perfdhcp's socket gets the default receive buffer (208 KiB), which bursts of replies
# overflow (group-committed ACKs leave together): 4 MiB for this run, for both servers, so
# the load generator is not what loses replies. Settable only in the initial namespace.
rmem_was=$(sysctl -n net.core.rmem_default)
sysctl -qw net.core.rmem_default=4194304

lab_config "$LAB_DIR/bng.toml"
lab_start_bng "$bng" "$LAB_DIR/bng.toml"
bench_server bng "$LAB_BNG_PID" 20 21 22
xdp_acks=$(lab_metric 'bng_dhcp_fastpath_replies_total{type="ack"}')
slow_acks=$(lab_metric 'bng_dhcp_slowpath_replies_total{type="ack"}')
lab_stop_bng

start_kea
bench_server kea "$KEA_PID" 30 31 32
stop_kea

printf '\n%-15s %9s %9s %7s %10s %10s %10s %10s\n' run "DORA/s" "offered" "lost %" \
  "OFFER p50" "OFFER p99" "ACK p50" "ACK p99"
for r in "${results[@]}"; do
  # shellcheck disable=SC2086
  printf '%-15s %9s %9s %7s %10s %10s %10s %10s\n' $r
done
echo "(DORA/s: completed DORAs per second at the highest offered rate losing <= 1%, latency"
echo " in ms from request to reply at that rate; renewing: REQUEST/ACKs per second, 64 in flight)"
rate_of() { for r in "${results[@]}"; do read -r n v _ <<<"$r"; [[ $n == "$1" ]] && echo "$v"; done; }
ratio() {
  awk -v a="$(rate_of "$1")" -v b="$(rate_of "$2")" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'
}
echo "bng ACKs over the whole run: $slow_acks from the slow path, $xdp_acks built in XDP"
echo "new DORA/s        bng slow path / kea: $(ratio bng-new kea-new)   (goal >= 1)"
echo "returning DORA/s  bng XDP / kea:       $(ratio bng-returning kea-returning)   (perfdhcp-bound)"
echo "renewals/s        bng XDP / kea:       $(ratio bng-renewing kea-renewing)   (bound by one load-generator core)"
echo
echo "server CPU per completed exchange (DORA or renewal) over each whole series, in"
echo "microseconds: process user+system, plus the XDP program's run time:"
for c in "${cpu_per_ack[@]}"; do
  read -r name total proc xdp <<<"$c"
  printf '  %-15s %8s us  (process %s, XDP %s)\n' "$name" "$total" "$proc" "$xdp"
done
cpu_of() { for c in "${cpu_per_ack[@]}"; do read -r n v _ <<<"$c"; [[ $n == "$1" ]] && echo "$v"; done; }
cpu_ratio() {
  awk -v b="$(cpu_of "bng-$1")" -v k="$(cpu_of "kea-$1")" 'BEGIN { if (b > 0) printf "%.1f", k / b; else print "n/a" }'
}
echo "exchanges per server CPU second, bng / kea: new $(cpu_ratio new), returning $(cpu_ratio returning)," \
  "renewing $(cpu_ratio renewing)   (goals: new >= 1, renewing >= 10)"
