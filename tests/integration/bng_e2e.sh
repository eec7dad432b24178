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
#   security  a world-readable config with a secret refused; api.token guards POST/DELETE;
#             capabilities dropped after start (CapEff/CapBnd), XDP and TC still detached at stop
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
# shellcheck source=lib/checks.sh
source "$here/lib/checks.sh"
# reload_until METRIC VALUE: SIGHUP to bng, then wait (up to 2 s) for METRIC to reach VALUE.
reload_until() {
  kill -HUP "$LAB_BNG_PID"
  for _ in $(seq 1 20); do [ "$(lab_metric "$1")" = "$2" ] && return 0; sleep 0.1; done
}

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
security)
  # A secret inline in a world-readable config: validate refuses it, naming file, key and fix.
  cfg="$LAB_DIR/secret.toml"
  sed 's/^port = 8080$/port = 8080\ntoken = "lab-token-0123456789"/' "$LAB_DIR/bng.toml" >"$cfg"
  chmod 0644 "$cfg"
  if out=$("$bng" validate --config "$cfg" 2>&1); then fail "validate accepted a 0644 file with api.token inline"; fi
  check "validate refuses api.token inline in a 0644 file, naming file, key and fix" grep -qF \
    "api.token: $cfg holds the secret api.token inline but every user can read it (mode 0644): run chmod o-r $cfg, or move the secret to token_file" <<<"$out"
  check "... without printing the token" bash -c '! grep -q lab-token <<<"$1"' _ "$out"
  chmod 0640 "$cfg"
  check "validate accepts it at 0640" quiet "$bng" validate --config "$cfg"

  # The API with api.token: reads open, everything else needs the bearer token.
  lab_stop_bng
  lab_start_bng "$bng" "$cfg"
  code() { ip netns exec "$LAB_SRV" curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$@"; }
  api=http://127.0.0.1:8080
  ip1=$(lab_udhcpc)
  check "bound ($ip1)" [ -n "$ip1" ]
  check "POST /admin/drain without a token: 401" [ "$(code -X POST $api/admin/drain)" = 401 ]
  check "POST /admin/drain with another token: 403" \
    [ "$(code -X POST -H 'Authorization: Bearer lab-token-wrong' $api/admin/drain)" = 403 ]
  check "DELETE /api/v1/leases/$ip1 without a token: 401" [ "$(code -X DELETE "$api/api/v1/leases/$ip1")" = 401 ]
  check "DELETE /api/v1/sessions/1 without a token: 401" [ "$(code -X DELETE $api/api/v1/sessions/1)" = 401 ]
  check "refused requests changed nothing" [ "$(lab_metric bng_draining)" = 0 ]
  check "the lease is still bound" [ "$(lab_metric 'bng_dhcp_leases{state="bound"}')" = 1 ]
  check "GET /api/v1/leases stays open" [ "$(code $api/api/v1/leases)" = 200 ]
  check "GET /health/ready stays open" [ "$(code $api/health/ready)" = 200 ]
  check "POST /admin/drain with the token: 200" \
    [ "$(code -X POST -H 'Authorization: Bearer lab-token-0123456789' $api/admin/drain)" = 200 ]
  check "bng_draining is 1" [ "$(lab_metric bng_draining)" = 1 ]
  check "DELETE /admin/drain with the token: 200" \
    [ "$(code -X DELETE -H 'Authorization: Bearer lab-token-0123456789' $api/admin/drain)" = 200 ]
  check "DELETE /api/v1/leases/$ip1 with the token: 204" \
    [ "$(code -X DELETE -H 'Authorization: Bearer lab-token-0123456789' "$api/api/v1/leases/$ip1")" = 204 ]
  check "the token is never logged" bash -c "! grep -q lab-token '$LAB_DIR/bng.log'"
  check "open connections are counted (the scrape's own)" ge "$(lab_metric 'bngkit_http_connections{server="metrics"}')" 1

  # Capabilities: after start only CAP_NET_ADMIN (bit 12) is left, in every set of every
  # thread (the sets are per thread).
  caps() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$LAB_BNG_PID/status"; }
  for set in CapEff CapPrm CapBnd; do
    check "$set is cap_net_admin only ($(caps $set))" [ "$(caps $set)" = 0000000000001000 ]
  done
  check "CapInh and CapAmb are empty" [ "$(caps CapInh)$(caps CapAmb)" = 00000000000000000000000000000000 ]
  check "every thread holds the same" bash -c "! awk '/^Cap(Eff|Prm|Bnd):/ && \$2 != \"0000000000001000\" || /^Cap(Inh|Amb):/ && \$2 != \"0000000000000000\"' /proc/$LAB_BNG_PID/task/*/status | grep -q ."
  eff=$((16#$(caps CapEff)))
  for bit in 1:CAP_DAC_OVERRIDE 13:CAP_NET_RAW 16:CAP_SYS_MODULE 19:CAP_SYS_PTRACE 21:CAP_SYS_ADMIN \
             24:CAP_SYS_RESOURCE 38:CAP_PERFMON 39:CAP_BPF; do
    check "no ${bit#*:}" [ $(((eff >> ${bit%%:*}) & 1)) = 0 ]
  done
  check "the drop is logged" grep -q "capabilities: kept cap_net_admin, dropped .*cap_sys_admin" "$LAB_DIR/bng.log"
  # With what is left: the slow path still serves a new subscriber, the fast path renews,
  # and SIGTERM still takes XDP and TC off the interface.
  ip netns exec "$LAB_CLI" ip link set "$LAB_CLI" address 02:00:00:00:00:45
  ip2=$(lab_udhcpc)
  check "a new subscriber is served after the drop ($ip2)" [ -n "$ip2" ]
  ip3=$(lab_udhcpc)
  check "... and served again by XDP ($ip3)" [ "$ip3" = "$ip2" ]
  check "XDP answered" ge "$(lab_metric 'bng_dhcp_fastpath_replies_total{type="ack"}')" 1
  check "TC program attached before stop" bash -c "tc -n $LAB_SRV filter show dev $LAB_SRV ingress | grep -q bpf"
  lab_stop_bng TERM
  check "SIGTERM detached XDP" bash -c "! ip -n $LAB_SRV link show $LAB_SRV | grep -q xdp"
  check "SIGTERM detached TC" bash -c "! tc -n $LAB_SRV filter show dev $LAB_SRV ingress | grep -q bpf"
  check "nothing was refused for a missing privilege" bash -c "! grep -Ei 'not permitted|EPERM|detach.*(fail|error)' '$LAB_DIR/bng.log'"
  ;;
*)
  echo "unknown scenario $scenario" >&2
  exit 2
  ;;
esac
echo "PASS [$scenario]"
