#!/usr/bin/env bash
# End to end: the bng daemon announces its pool (and subscriber /32s) through its own FRR
# (zebra + bgpd in the BNG namespace) to an upstream router (a second FRR in its own
# namespace, peering over a veth). Checks what the upstream learns across a DHCP bind,
# drain and its end, a SIGHUP turning host routes off, the BNG's FRR being killed (DHCP
# keeps serving, /metrics and /health say FRR is down) and restarted (reconcile brings the
# announcements back), and bng's shutdown (everything withdrawn).
# Usage: bng_bgp_e2e.sh <bng binary>. Exit 77 (skipped) without root or without FRR.
set -euo pipefail
bng=$1
here=$(cd "$(dirname "$0")" && pwd)
FRR_LIB=/usr/lib/frr
if [[ $(id -u) -ne 0 ]]; then
  echo "SKIP: needs root for network namespaces, XDP and FRR"
  exit 77
fi
if [[ ! -x $FRR_LIB/bgpd || ! -x $FRR_LIB/zebra ]] || ! command -v vtysh >/dev/null; then
  echo "SKIP: FRR is not installed (Debian package frr; scripts/install-deps.sh installs it)"
  exit 77
fi
LAB="bgp$$"
# shellcheck source=../../scripts/lib/bng-lab.sh
source "$here/../../scripts/lib/bng-lab.sh"
UP=${LAB}-u          # the upstream router's namespace
BNG_FRR="$LAB_DIR/frr-bng"
UP_FRR="$LAB_DIR/frr-up"
declare -A frr_pids  # "<dir> <daemon>" -> PID
up_created=""

stop_frr() {  # stop_frr DIR: the zebra and bgpd we started there, by PID
  local key
  for key in "${!frr_pids[@]}"; do
    if [[ $key == "$1 "* ]]; then
      kill "${frr_pids[$key]}" 2>/dev/null || true
      wait "${frr_pids[$key]}" 2>/dev/null || true
      unset "frr_pids[$key]"
    fi
  done
}
cleanup() {
  lab_stop_bng
  stop_frr "$BNG_FRR"
  stop_frr "$UP_FRR"
  lab_down
  if [[ -n $up_created ]]; then ip netns del "$UP" 2>/dev/null || true; fi
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  echo "--- bng log" >&2; tail -n 40 "$LAB_DIR/bng.log" >&2 || true
  echo "--- upstream BGP" >&2; vtysh --vty_socket "$UP_FRR" -d bgpd -c 'show bgp ipv4 unicast' >&2 || true
  exit 1
}
# shellcheck source=lib/checks.sh
source "$here/lib/checks.sh"
# start_frr NAMESPACE DIR: zebra and bgpd for one router, its sockets and logs in DIR.
start_frr() {
  local ns=$1 dir=$2 d
  mkdir -p "$dir"
  : >"$dir/empty.conf"
  chown -R frr:frr "$dir"
  for d in zebra bgpd; do
    ip netns exec "$ns" "$FRR_LIB/$d" -z "$dir/zserv.api" -i "$dir/$d.pid" --vty_socket "$dir" \
      -f "$dir/empty.conf" -P 0 --log "file:$dir/$d.log" >>"$dir/$d.out" 2>&1 &
    frr_pids["$dir $d"]=$!
    if [[ $d == zebra ]]; then wait_for 10 test -S "$dir/zserv.api" || fail "zebra in $ns did not start"; fi
  done
  wait_for 10 vtysh --vty_socket "$dir" -d bgpd -c 'show version' >/dev/null 2>&1 || fail "bgpd in $ns did not start"
}
# upstream_has PREFIX: the upstream router holds PREFIX in its BGP table.
upstream_has() {
  vtysh --vty_socket "$UP_FRR" -d bgpd -c 'show bgp ipv4 unicast json' 2>/dev/null | grep -q "\"$1\""
}
upstream_lacks() { ! upstream_has "$1"; }
metric_is() { [ "$(lab_metric "$1")" = "$2" ]; }
ready() { lab_api /health/ready >/dev/null; }
not_ready_because() { ip netns exec "$LAB_SRV" curl -s --max-time 2 http://127.0.0.1:8080/health/ready | grep -q "$1"; }

# The subscriber lab (BNG and client namespaces), plus the upstream namespace on a veth
# from the BNG namespace: BNG 10.255.0.1/30, upstream 10.255.0.2/30.
lab_up
chmod 755 "$LAB_DIR"  # FRR runs as user frr and needs to reach its socket directories
ip netns add "$UP"
up_created=1
ip link add "${LAB}-b" type veth peer name "${LAB}-r"
ip link set "${LAB}-b" netns "$LAB_SRV"
ip link set "${LAB}-r" netns "$UP"
ip -n "$LAB_SRV" addr add 10.255.0.1/30 dev "${LAB}-b"
ip -n "$UP" addr add 10.255.0.2/30 dev "${LAB}-r"
ip -n "$LAB_SRV" link set "${LAB}-b" up
ip -n "$UP" link set lo up
ip -n "$UP" link set "${LAB}-r" up

start_frr "$UP" "$UP_FRR"
vtysh --vty_socket "$UP_FRR" -d bgpd -c 'configure terminal' -c 'router bgp 65000' -c 'bgp router-id 10.255.0.2' \
  -c 'no bgp ebgp-requires-policy' -c 'neighbor 10.255.0.1 remote-as 65001' >/dev/null
start_frr "$LAB_SRV" "$BNG_FRR"

# The BNG's own FRR starts empty: bng configures it (AS, router id, neighbour, networks).
lab_config "$LAB_DIR/bng.toml" "
[bgp]
enabled = true
local_as = 65001
router_id = \"10.255.0.1\"
vty_socket = \"$BNG_FRR\"
announce_host_routes = true
reconcile_interval = \"1s\"
command_timeout = \"3s\"
[[bgp.neighbors]]
address = \"10.255.0.2\"
remote_as = 65000"
check "bng validate accepts the [bgp] section" bash -c "'$bng' validate --config '$LAB_DIR/bng.toml' >/dev/null"
lab_start_bng "$bng" "$LAB_DIR/bng.toml"

check "bng configured its FRR (router bgp 65001, the neighbour)" wait_for 10 bash -c \
  "vtysh --vty_socket '$BNG_FRR' -d bgpd -c 'show running-config' | grep -q 'neighbor 10.255.0.2 remote-as 65000'"
check "the session to the upstream is established" wait_for 20 metric_is 'bng_bgp_peers{state="Established"}' 1
check "the upstream learned the pool aggregate 10.0.1.0/24" wait_for 10 upstream_has 10.0.1.0/24
check "... and installed it towards the BNG" wait_for 5 bash -c "ip -n $UP route show 10.0.1.0/24 | grep -q 'via 10.255.0.1'"
check "bng_bgp_frr_up is 1" metric_is bng_bgp_frr_up 1
check "readiness reports the announcement" bash -c \
  "ip netns exec $LAB_SRV curl -sf http://127.0.0.1:8080/health/ready | grep -q 'prefix(es) in FRR'"

ip1=$(lab_udhcpc)
check "a subscriber bound ($ip1)" grep -qE '^10\.0\.1\.1[0-9]{2}$' <<<"$ip1"
check "the upstream learned the subscriber's host route $ip1/32" wait_for 10 upstream_has "$ip1/32"
check "two prefixes announced" wait_for 5 metric_is bng_bgp_announced_prefixes 2

check "POST /admin/drain" lab_api /admin/drain -X POST -o /dev/null
check "drain withdrew the aggregate from the upstream" wait_for 10 upstream_lacks 10.0.1.0/24
check "... and the host route" wait_for 5 upstream_lacks "$ip1/32"
check "bng_bgp_desired_prefixes is 0 while draining" metric_is bng_bgp_desired_prefixes 0
check "the session stays up while draining" metric_is 'bng_bgp_peers{state="Established"}' 1
check "DELETE /admin/drain" lab_api /admin/drain -X DELETE -o /dev/null
check "the end of the drain announced the aggregate again" wait_for 10 upstream_has 10.0.1.0/24
check "... and the host route" wait_for 5 upstream_has "$ip1/32"

# A lease that ends takes its host route with it; a new bind brings it back.
check "DELETE /api/v1/leases/$ip1" lab_api "/api/v1/leases/$ip1" -X DELETE -o /dev/null
check "the ended lease's host route was withdrawn" wait_for 10 upstream_lacks "$ip1/32"
check "... the aggregate stays" upstream_has 10.0.1.0/24
ip1=$(lab_udhcpc)
check "a new bind ($ip1) is announced again" wait_for 10 upstream_has "$ip1/32"
if command -v promtool >/dev/null; then
  ip netns exec "$LAB_SRV" curl -sf http://127.0.0.1:9090/metrics >"$LAB_DIR/metrics.txt"
  check "/metrics with the bng_bgp_* series passes promtool check metrics" \
    bash -c "promtool check metrics <'$LAB_DIR/metrics.txt'"
fi

# SIGHUP: host routes off is live; the aggregate stays.
sed -i 's/^announce_host_routes = true/announce_host_routes = false/' "$LAB_DIR/bng.toml"
kill -HUP "$LAB_BNG_PID"
check "a reload turning host routes off withdrew $ip1/32" wait_for 10 upstream_lacks "$ip1/32"
check "... and kept the aggregate" upstream_has 10.0.1.0/24
check "the reload was applied" metric_is 'bng_config_reloads_total{result="applied"}' 1

# The BNG's FRR goes away: DHCP keeps serving, /metrics and /health say so.
errors_before=$(lab_metric bng_bgp_reconcile_errors_total)
stop_frr "$BNG_FRR"
check "bng_bgp_frr_up drops to 0 with FRR gone" wait_for 10 metric_is bng_bgp_frr_up 0
check "readiness names FRR as the problem" not_ready_because "FRR bgpd unreachable"
check "reconcile errors are counted" wait_for 5 bash -c \
  "[ \$(awk -v a=\"\$(ip netns exec $LAB_SRV curl -sf http://127.0.0.1:9090/metrics | awk '\$1==\"bng_bgp_reconcile_errors_total\" {print \$2}')\" -v b=$errors_before 'BEGIN{print (a>b)}') = 1 ]"
check "liveness still ok" lab_api /health/live -o /dev/null
ip2=$(lab_udhcpc)
check "DHCP still serves the subscriber with FRR down ($ip2)" [ "$ip2" = "$ip1" ]
check "the upstream lost the routes with the session" wait_for 10 upstream_lacks 10.0.1.0/24

# FRR comes back empty: the next reconcile configures it and announces again.
start_frr "$LAB_SRV" "$BNG_FRR"
check "bng_bgp_frr_up is back to 1" wait_for 10 metric_is bng_bgp_frr_up 1
check "the reconcile announced the aggregate to the upstream again" wait_for 20 upstream_has 10.0.1.0/24
check "ready again" wait_for 5 ready

# Shutdown withdraws everything (FRR stays up, so the upstream hears the withdrawal).
lab_stop_bng TERM
check "bng shutdown withdrew the aggregate" wait_for 10 upstream_lacks 10.0.1.0/24
check "the BNG's FRR holds no network statement" bash -c \
  "! vtysh --vty_socket '$BNG_FRR' -d bgpd -c 'show running-config' | grep -q '^  network'"
check "bng logged the withdrawal" grep -q "bgp: every prefix withdrawn" "$LAB_DIR/bng.log"
echo "PASS"
