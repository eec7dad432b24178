#!/usr/bin/env bash
# End-to-end tests of the bng daemon with real DHCP clients in network namespaces.
# Usage: bng_e2e.sh <bng binary> <scenario>
#   udhcpc    busybox udhcpc: slow-path DORA, then the same subscriber served by XDP
#   dhclient  ISC dhclient: DORA, then T1 renewals answered in the kernel and recorded
#   relay     perfdhcp as a relay agent (giaddr, port 67): every exchange completes
#   vlan      802.1Q and QinQ tagged clients (scapy): tags kept on slow and fast path
#   restart   SIGTERM/restart keeps serving from the restored cache; SIGKILL loses no ACKed lease
#   drain     POST /admin/drain: existing subscribers served, new ones not, readiness fails
#   reload    SIGHUP applies pool options live (both paths), refuses restart-only changes
# Exit 77 (skipped) without root.
set -euo pipefail
bng=$1
scenario=$2
here=$(cd "$(dirname "$0")" && pwd)
if [[ $(id -u) -ne 0 ]]; then
  echo "SKIP: needs root for network namespaces, XDP and AF_PACKET"
  exit 77
fi
LAB="bte$$"
# shellcheck source=../../scripts/lib/bng-lab.sh
source "$here/../../scripts/lib/bng-lab.sh"
extra_pids=()  # helpers a scenario starts (ended by PID with the lab)
cleanup() {
  if ((${#extra_pids[@]})); then kill "${extra_pids[@]}" 2>/dev/null || true; fi
  lab_down
}
trap cleanup EXIT

fail() { echo "FAIL [$scenario]: $*" >&2; echo "--- bng log" >&2; cat "$LAB_DIR/bng.log" >&2 || true; exit 1; }
check() { local what=$1; shift; "$@" || fail "$what"; echo "ok - $what"; }
quiet() { "$@" >/dev/null; }
# reload_until METRIC VALUE: SIGHUP to bng, then wait (up to 2 s) for METRIC to reach VALUE.
reload_until() {
  kill -HUP "$LAB_BNG_PID"
  for _ in $(seq 1 20); do [ "$(lab_metric "$1")" = "$2" ] && return 0; sleep 0.1; done
}
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }

lab_up
lab_config "$LAB_DIR/bng.toml"
lab_start_bng "$bng" "$LAB_DIR/bng.toml"

case "$scenario" in
udhcpc)
  ip1=$(lab_udhcpc)
  check "udhcpc got an address from the pool ($ip1)" grep -qE '^10\.0\.1\.1[0-9]{2}$' <<<"$ip1"
  check "first DORA answered by the slow path" ge "$(lab_metric 'bng_dhcp_slowpath_replies_total{type="ack"}')" 1
  ip2=$(lab_udhcpc)
  check "the same subscriber gets the same address ($ip2)" [ "$ip2" = "$ip1" ]
  check "second DORA answered by XDP (OFFER)" ge "$(lab_metric 'bng_dhcp_fastpath_replies_total{type="offer"}')" 1
  check "second DORA answered by XDP (ACK)" ge "$(lab_metric 'bng_dhcp_fastpath_replies_total{type="ack"}')" 1
  check "kernel ACK applied to the lease" ge "$(lab_metric bng_dhcp_fastpath_renewals_served_total)" 1
  check "one bound lease" [ "$(lab_metric 'bng_dhcp_leases{state="bound"}')" = 1 ]
  if command -v promtool >/dev/null; then
    ip netns exec "$LAB_SRV" curl -sf http://127.0.0.1:9090/metrics >"$LAB_DIR/metrics.txt"
    check "/metrics passes promtool check metrics" bash -c "promtool check metrics <'$LAB_DIR/metrics.txt'"
  else
    echo "skip - promtool check metrics (promtool not installed: Debian package prometheus)"
  fi
  ;;
dhclient)
  lab_stop_bng
  LAB_LEASE_TIME=30 LAB_RENEWAL_TIME=2 LAB_REBINDING_TIME=25 lab_config "$LAB_DIR/bng.toml"
  lab_start_bng "$bng" "$LAB_DIR/bng.toml"
  # dhclient runs its script with a clean environment: the events file is written in.
  cat >"$LAB_DIR/dhclient.script" <<SH
#!/bin/sh
case "\$reason" in
  BOUND|RENEW|REBIND|REBOOT)
    ip addr replace "\$new_ip_address/24" dev "\$interface"
    echo "\$reason \$new_ip_address" >>"$LAB_DIR/dhclient.events" ;;
esac
exit 0
SH
  chmod +x "$LAB_DIR/dhclient.script"
  ip netns exec "$LAB_CLI" dhclient -d -v -sf "$LAB_DIR/dhclient.script" -lf "$LAB_DIR/dhclient.leases" \
    -pf "$LAB_DIR/dhclient.pid" "$LAB_CLI" >"$LAB_DIR/dhclient.log" 2>&1 &
  client=$!
  for _ in $(seq 1 100); do
    [[ $(grep -c RENEW "$LAB_DIR/dhclient.events" 2>/dev/null || true) -ge 2 ]] && break
    sleep 0.1
  done
  kill "$client" 2>/dev/null; wait "$client" 2>/dev/null || true
  tail -n 8 "$LAB_DIR/dhclient.log"
  check "dhclient bound" grep -q '^BOUND 10.0.1.1' "$LAB_DIR/dhclient.events"
  check "dhclient renewed twice" [ $(grep -c '^RENEW' "$LAB_DIR/dhclient.events") -ge 2 ]
  check "renewals answered by XDP" ge "$(lab_metric 'bng_dhcp_fastpath_replies_total{type="ack"}')" 2
  check "renewals applied to the lease" ge "$(lab_metric bng_dhcp_fastpath_renewals_served_total)" 2
  check "the API lists the lease as bound" bash -c \
    "ip netns exec $LAB_SRV curl -sf http://127.0.0.1:8080/api/v1/leases | grep -q '\"state\":\"bound\"'"
  ;;
relay)
  ip -n "$LAB_CLI" addr add 10.0.1.2/24 dev "$LAB_CLI"
  out=$(ip netns exec "$LAB_CLI" timeout 30 perfdhcp -4 -l 10.0.1.2 -r 20 -R 30 -n 30 -p 10 -W 1000000 10.0.1.1 2>&1) ||
    true
  echo "$out" | sed -n '/sent packets/,$p' | head -20
  offers=$(echo "$out" | awk '/^\*\*\*Statistics for: DISCOVER-OFFER/ { s=1 } s && /received packets:/ { print $3; exit }')
  acks=$(echo "$out" | awk '/^\*\*\*Statistics for: REQUEST-ACK/ { s=1 } s && /received packets:/ { print $3; exit }')
  check "relayed DISCOVERs answered to the relay ($offers of 30)" [ "${offers:-0}" -eq 30 ]
  check "relayed REQUESTs acknowledged ($acks of 30)" [ "${acks:-0}" -eq 30 ]
  check "30 bound leases" [ "$(lab_metric 'bng_dhcp_leases{state="bound"}')" = 30 ]
  ;;
vlan)
  out=$(ip netns exec "$LAB_CLI" /usr/bin/python3 "$here/vlan_client.py" "$LAB_CLI") || fail "vlan client: $out"
  echo "$out"
  check "802.1Q DORA on the slow path, tag kept" grep -q '^dot1q slow ok' <<<"$out"
  check "802.1Q DORA on the fast path, tag kept" grep -q '^dot1q fast ok' <<<"$out"
  check "QinQ DORA on the slow path, both tags kept" grep -q '^qinq slow ok' <<<"$out"
  check "QinQ DORA on the fast path, both tags kept" grep -q '^qinq fast ok' <<<"$out"
  check "fast path served the tagged repeats" ge "$(lab_metric 'bng_dhcp_fastpath_replies_total{type="ack"}')" 2
  ;;
restart)
  ip1=$(lab_udhcpc)
  check "bound before restart ($ip1)" [ -n "$ip1" ]
  lab_stop_bng TERM
  check "SIGTERM detached XDP" bash -c "! ip -n $LAB_SRV link show $LAB_SRV | grep -q xdp"
  lab_start_bng "$bng" "$LAB_DIR/bng.toml"
  check "restart restored the lease" [ "$(lab_metric 'bng_dhcp_leases{state="bound"}')" = 1 ]
  ip2=$(lab_udhcpc)
  check "same address after restart ($ip2)" [ "$ip2" = "$ip1" ]
  check "first DORA after restart answered by XDP from the refilled cache" \
    ge "$(lab_metric 'bng_dhcp_fastpath_replies_total{type="ack"}')" 1
  check "no slow-path request needed after restart" \
    [ "$(lab_metric 'bng_dhcp_slowpath_requests_total{type="discover"}')" = 0 ]
  # A second subscriber is ACKed, then the daemon is killed outright.
  ip netns exec "$LAB_CLI" ip link set "$LAB_CLI" address 02:00:00:00:00:42
  ip3=$(lab_udhcpc)
  lab_stop_bng KILL
  check "SIGKILL leaves XDP attached" bash -c "ip -n $LAB_SRV link show $LAB_SRV | grep -q xdp"
  lab_start_bng "$bng" "$LAB_DIR/bng.toml"
  check "restart replaced the fast path the killed daemon left" [ "$(lab_metric bng_fastpath_attached)" = 1 ]
  check "ACKed lease survived SIGKILL" bash -c \
    "ip netns exec $LAB_SRV curl -sf http://127.0.0.1:8080/api/v1/leases/$ip3 | grep -q '\"state\":\"bound\"'"
  check "two bound leases after SIGKILL and restart" [ "$(lab_metric 'bng_dhcp_leases{state="bound"}')" = 2 ]
  ;;
drain)
  ip1=$(lab_udhcpc)
  check "bound before draining ($ip1)" [ -n "$ip1" ]
  check "POST /admin/drain" quiet lab_api /admin/drain -X POST
  check "not ready while draining" bash -c "! ip netns exec $LAB_SRV curl -sf http://127.0.0.1:8080/health/ready"
  check "bng_draining is 1" [ "$(lab_metric bng_draining)" = 1 ]
  ip2=$(lab_udhcpc)
  check "the existing subscriber is still served ($ip2)" [ "$ip2" = "$ip1" ]
  ip netns exec "$LAB_CLI" ip link set "$LAB_CLI" address 02:00:00:00:00:43
  ip3=$(lab_udhcpc -t 2)
  check "a new subscriber gets no address while draining" [ -z "$ip3" ]
  check "DELETE /admin/drain" quiet lab_api /admin/drain -X DELETE
  check "ready again" quiet lab_api /health/ready
  ip4=$(lab_udhcpc)
  check "the new subscriber is served after the drain ($ip4)" [ -n "$ip4" ]
  ;;
reload)
  # As under systemd (Type=notify): a notify socket that records what bng says.
  lab_stop_bng
  socat -u UNIX-RECV:"$LAB_DIR/notify" OPEN:"$LAB_DIR/notify.log",creat,append &
  extra_pids+=($!)
  for _ in $(seq 1 40); do [ -S "$LAB_DIR/notify" ] && break; sleep 0.05; done
  NOTIFY_SOCKET="$LAB_DIR/notify" lab_start_bng "$bng" "$LAB_DIR/bng.toml"
  check "READY=1 sent to systemd once serving" grep -q "READY=1" "$LAB_DIR/notify.log"
  ip1=$(lab_udhcpc)
  check "bound with the configured lease" grep -q "^bound $ip1 20 10.0.1.1" "$LAB_DIR/udhcpc.events"
  # Live: lease time and DNS of the pool. The next replies carry them, from both paths.
  sed -i 's/^lease_time = 20/lease_time = 40/; s/^dns = \["10.0.1.1"\]/dns = ["10.0.1.53"]/' "$LAB_DIR/bng.toml"
  reload_until 'bng_config_reloads_total{result="applied"}' 1
  check "reload applied" [ "$(lab_metric 'bng_config_reloads_total{result="applied"}')" = 1 ]
  check "systemd heard RELOADING=1 then READY=1" grep -q "RELOADING=1READY=1" "$LAB_DIR/notify.log"
  ip2=$(lab_udhcpc)
  check "XDP answered the same subscriber with the new lease time and DNS" \
    grep -q "^bound $ip2 40 10.0.1.53" "$LAB_DIR/udhcpc.events"
  check "... from the fast path" ge "$(lab_metric 'bng_dhcp_fastpath_replies_total{type="ack"}')" 1
  ip netns exec "$LAB_CLI" ip link set "$LAB_CLI" address 02:00:00:00:00:44
  ip3=$(lab_udhcpc)
  check "the slow path gives a new subscriber the new lease time" grep -q "^bound $ip3 40 10.0.1.53" "$LAB_DIR/udhcpc.events"
  # Refused whole: a change that needs a restart, and a file that does not parse.
  sed -i 's/^port = 8080/port = 8081/; s/^lease_time = 40/lease_time = 50/' "$LAB_DIR/bng.toml"
  reload_until 'bng_config_reloads_total{result="rejected"}' 1
  check "a reload changing api.port is refused" [ "$(lab_metric 'bng_config_reloads_total{result="rejected"}')" = 1 ]
  check "... and says why" grep -q "reload refused: changing api needs a restart" "$LAB_DIR/bng.log"
  echo "this is not TOML [" >>"$LAB_DIR/bng.toml"
  reload_until 'bng_config_reloads_total{result="rejected"}' 2
  check "a file that does not parse is refused" [ "$(lab_metric 'bng_config_reloads_total{result="rejected"}')" = 2 ]
  ip4=$(lab_udhcpc)
  check "still serving the running configuration (lease 40)" grep -q "^bound $ip4 40 " "$LAB_DIR/udhcpc.events"
  ;;
*)
  echo "unknown scenario $scenario" >&2
  exit 2
  ;;
esac
echo "PASS [$scenario]"
