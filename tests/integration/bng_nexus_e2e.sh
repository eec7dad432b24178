#!/usr/bin/env bash
# End-to-end: the bng daemon allocating through a real nexus daemon, with udhcpc in network
# namespaces. Nexus runs in the BNG's namespace on loopback; the pool is created through
# its API and the BNG config has no [[pools]] (LAB_POOLS=none).
#   - a client gets the address Nexus lists as its allocation (GET /api/v1/allocations/{id})
#   - the node registers (GET /api/v1/nodes)
#   - nexus stopped (by PID): the existing subscriber is still served, a new one gets
#     nothing, /health/ready and bng_nexus_up say Nexus is down
#   - nexus restarted (same store): the new subscriber is served, with its own address
#   - a bng restart restores its leases into the cache and renews them in Nexus
#   - ending a lease (DELETE /api/v1/leases/{ip}) releases the allocation in Nexus
#   - a DHCPRELEASE (udhcpc -R on SIGTERM, and on SIGUSR2) does too: lease and session end,
#     and the address goes to the next subscriber Nexus grants it to
#   - bng restarted during a Nexus outage (with a [[pools]] entry) serves stored subscribers
#   - two bng nodes on one Nexus pool never hand out the same address
# Usage: bng_nexus_e2e.sh <bng binary> <nexus binary>. Exit 77 (skipped) without root.
set -euo pipefail
bng=$1
nexus=$2
here=$(cd "$(dirname "$0")" && pwd)
if [[ $(id -u) -ne 0 ]]; then
  echo "SKIP: needs root for network namespaces, XDP and AF_PACKET"
  exit 77
fi
LAB="bnx$$"
# shellcheck source=../../scripts/lib/bng-lab.sh
source "$here/../../scripts/lib/bng-lab.sh"
nexus_pid=""
bng2_pid=""  # the second bng node (step 8)
nexus_port=9400  # inside the lab's own namespace: no other test shares it
nexus_dir="$LAB_DIR/nexus"
nexus_token="lab-token-$$"  # Nexus requires it for writes; bng reads it from nexus.token_file
cleanup() {
  if [[ -n $bng2_pid ]]; then kill "$bng2_pid" 2>/dev/null || true; wait "$bng2_pid" 2>/dev/null || true; fi
  if [[ -n $nexus_pid ]]; then kill "$nexus_pid" 2>/dev/null || true; wait "$nexus_pid" 2>/dev/null || true; fi
  lab_down
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  echo "--- bng log" >&2; cat "$LAB_DIR/bng.log" >&2 || true
  if [[ -n $bng2_pid ]]; then echo "--- second bng log" >&2; cat "$LAB_DIR/bng2.log" >&2 || true; fi
  echo "--- nexus log" >&2; tail -n 30 "$nexus_dir/nexus.log" >&2 || true
  exit 1
}
# shellcheck source=lib/checks.sh
source "$here/lib/checks.sh"
# nexus_api METHOD PATH [BODY]: the Nexus API (inside the BNG namespace); prints the body.
nexus_api() {
  local args=(-s --max-time 3 -H "Authorization: Bearer $nexus_token" -X "$1" "http://127.0.0.1:$nexus_port$2")
  if [[ $# -gt 2 ]]; then args+=(-H 'Content-Type: application/json' -d "$3"); fi
  ip netns exec "$LAB_SRV" curl "${args[@]}"
}
nexus_status() { ip netns exec "$LAB_SRV" curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://127.0.0.1:$nexus_port$1"; }
# nexus_released MAC: Nexus holds nothing for the subscriber with MAC in the pool (404).
nexus_released() { [ "$(nexus_status "/api/v1/allocations/mac:$1?pool_id=residential-ipv4")" = 404 ]; }
json_field() { /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin).get(sys.argv[1], ""))' "$1"; }

nexus_start() {
  ip netns exec "$LAB_SRV" "$nexus" run --config "$nexus_dir/nexus.toml" >>"$nexus_dir/nexus.log" 2>&1 &
  nexus_pid=$!
  wait_for 20 bash -c "[ \"\$(ip netns exec $LAB_SRV curl -s -o /dev/null -w '%{http_code}' --max-time 1 http://127.0.0.1:$nexus_port/ready)\" = 200 ]" ||
    fail "nexus did not become ready"
}
nexus_stop() {
  kill "$nexus_pid"
  wait "$nexus_pid" 2>/dev/null || true
  nexus_pid=""
}
set_mac() { ip -n "$LAB_CLI" link set "$LAB_CLI" address "$1"; }

lab_up
mkdir -p "$nexus_dir"
cat >"$nexus_dir/nexus.toml" <<TOML
[server]
bind = "127.0.0.1"
http_port = $nexus_port
metrics_port = $((nexus_port + 1))
token = "$nexus_token"
[node]
id = "nx1"
role = "core"
region = "lab"
[p2p]
bind = "127.0.0.1"
listen_port = $((nexus_port + 2))
peers = []
secret = "lab-secret-0123456789abcdef"
[storage]
path = "$nexus_dir/data"
[graceful_shutdown]
grace_period = "0s"
TOML
chmod 0600 "$nexus_dir/nexus.toml"  # it holds secrets inline: the daemons refuse world-readable ones
nexus_start
printf '%s\n' "$nexus_token" >"$LAB_DIR/nexus.token"
chmod 0600 "$LAB_DIR/nexus.token"
check "Nexus refuses writes without the token" [ "$(ip netns exec "$LAB_SRV" curl -s -o /dev/null -w '%{http_code}' -X POST \
  -d '{"id": "x", "cidr": "10.9.0.0/24"}' "http://127.0.0.1:$nexus_port/api/v1/pools")" = 401 ]
created=$(nexus_api POST /api/v1/pools \
  '{"id": "residential-ipv4", "cidr": "10.0.1.0/24", "gateway": "10.0.1.1", "dns": ["10.0.1.1"]}')
check "pool created in Nexus" grep -q '"residential-ipv4"' <<<"$created"

# Leases long enough that none expires during the test (an expiry would release in Nexus).
LAB_POOLS=none LAB_LEASE_TIME=300 LAB_RENEWAL_TIME=150 LAB_REBINDING_TIME=250 lab_config "$LAB_DIR/bng.toml" "[nexus]
endpoints = [\"127.0.0.1:$nexus_port\"]
token_file = \"$LAB_DIR/nexus.token\"
heartbeat_interval = \"1s\"
timeout = \"1s\""
check "bng config without [[pools]] validates" "$bng" validate --config "$LAB_DIR/bng.toml"
lab_start_bng "$bng" "$LAB_DIR/bng.toml" || fail "bng did not start"

# 1. A subscriber gets the address Nexus granted it.
mac_a=02:00:00:00:aa:01
mac_b=02:00:00:00:bb:02
set_mac "$mac_a"
ip_a=$(lab_udhcpc || true)
check "udhcpc got an address ($ip_a)" grep -qE '^10\.0\.1\.[0-9]+$' <<<"$ip_a"
granted=$(nexus_api GET "/api/v1/allocations/mac:$mac_a?pool_id=residential-ipv4" | json_field ip)
check "Nexus lists $ip_a as the allocation of mac:$mac_a ($granted)" [ "$granted" = "$ip_a" ]
check "the node registered with Nexus" wait_for 5 bash -c "ip netns exec $LAB_SRV curl -s http://127.0.0.1:$nexus_port/api/v1/nodes | grep -q '\"$LAB\"'"
check "bng_nexus_up is 1" [ "$(lab_metric bng_nexus_up)" = 1 ]
check "one Nexus grant cached" [ "$(lab_metric bng_nexus_allocations)" = 1 ]

# 2. Nexus down: existing subscriber served, new one not, readiness and metric say so.
nexus_stop
ip_a2=$(lab_udhcpc || true)
check "the existing subscriber is still served with Nexus down ($ip_a2)" [ "$ip_a2" = "$ip_a" ]
set_mac "$mac_b"
ip_b=$(lab_udhcpc || true)
check "a new subscriber gets no address while Nexus is down" [ -z "$ip_b" ]
check "bng_nexus_up drops to 0" wait_for 5 bash -c "[ \"\$(ip netns exec $LAB_SRV curl -sf http://127.0.0.1:9090/metrics | awk '\$1 == \"bng_nexus_up\" { print \$2 }')\" = 0 ]"
check "unreachable requests are counted" ge "$(lab_metric 'bng_nexus_requests_total{result="unreachable"}')" 1
ready=$(ip netns exec "$LAB_SRV" curl -s --max-time 2 http://127.0.0.1:8080/health/ready || true)
check "/health/ready says no Nexus endpoint is reachable" grep -q "no Nexus endpoint reachable" <<<"$ready"
check "/health/ready answers 503" [ "$(ip netns exec "$LAB_SRV" curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8080/health/ready)" = 503 ]

# 3. Nexus back (same store): the new subscriber is served, with another address.
nexus_start
check "readiness recovers once Nexus answers" wait_for 10 quiet lab_api /health/ready
ip_b=$(lab_udhcpc || true)
check "the new subscriber is served once Nexus is back ($ip_b)" grep -qE '^10\.0\.1\.[0-9]+$' <<<"$ip_b"
check "it got another address than the first subscriber" [ "$ip_b" != "$ip_a" ]
granted_b=$(nexus_api GET "/api/v1/allocations/mac:$mac_b?pool_id=residential-ipv4" | json_field ip)
check "Nexus lists $ip_b for mac:$mac_b" [ "$granted_b" = "$ip_b" ]
granted_a=$(nexus_api GET "/api/v1/allocations/mac:$mac_a?pool_id=residential-ipv4" | json_field ip)
check "the first subscriber's allocation survived the Nexus restart" [ "$granted_a" = "$ip_a" ]

# 4. bng restart: stored leases re-enter the cache and are confirmed (renewed) in Nexus.
expires_before=$(nexus_api GET "/api/v1/allocations/mac:$mac_a?pool_id=residential-ipv4" | json_field expires_at)
sleep 1  # expires_at has millisecond resolution: a renewal now is visibly later
lab_stop_bng
lab_start_bng "$bng" "$LAB_DIR/bng.toml" || fail "bng did not restart"
check "both stored leases are cached again after the restart" [ "$(lab_metric bng_nexus_allocations)" = 2 ]
renewed_a() {
  local now
  now=$(nexus_api GET "/api/v1/allocations/mac:$mac_a?pool_id=residential-ipv4" | json_field expires_at)
  [[ -n $now && $now > $expires_before ]]
}
check "the restored grant was renewed in Nexus" wait_for 5 renewed_a
set_mac "$mac_a"
ip_a3=$(lab_udhcpc || true)
check "the first subscriber keeps its address across the restart ($ip_a3)" [ "$ip_a3" = "$ip_a" ]

# 5. Ending the lease (operator disconnect) releases the allocation in Nexus.
check "the operator ends the lease of $ip_b" lab_api "/api/v1/leases/$ip_b" -X DELETE
check "the release reached Nexus (404 for mac:$mac_b)" wait_for 5 nexus_released "$mac_b"
check "the first subscriber still holds its allocation" [ "$(nexus_status "/api/v1/allocations/mac:$mac_a?pool_id=residential-ipv4")" = 200 ]
check "one Nexus grant left cached" [ "$(lab_metric bng_nexus_allocations)" = 1 ]

# 6. The subscriber releases (DHCPRELEASE from udhcpc -R): the lease and the session end,
# the grant goes back to Nexus, and the address can go to another subscriber.
mac_r=02:00:00:00:dd:04
mac_r2=02:00:00:00:dd:05
pool_body='"id": "residential-ipv4", "cidr": "10.0.1.0/24", "gateway": "10.0.1.1", "dns": ["10.0.1.1"]'
releases_before=$(lab_metric 'bng_dhcp_slowpath_requests_total{type="release"}')
set_mac "$mac_r"
ip_r=$(lab_udhcpc_release TERM)
check "a subscriber bound and, on SIGTERM, udhcpc -R released $ip_r" \
  grep -q "unicasting a release of ${ip_r:-none} to 10.0.1.1" "$LAB_DIR/udhcpc.log"
check "the release reached Nexus (404 for mac:$mac_r)" wait_for 5 nexus_released "$mac_r"
check "the slow path counted the RELEASE" ge "$(lab_metric 'bng_dhcp_slowpath_requests_total{type="release"}')" $((releases_before + 1))
check "the lease of $ip_r is released" bash -c "ip netns exec $LAB_SRV curl -sf http://127.0.0.1:8080/api/v1/leases/$ip_r | grep -q '\"state\":\"released\"'"
check "the subscriber's session ended" bash -c "! ip netns exec $LAB_SRV curl -sf http://127.0.0.1:8080/api/v1/sessions | grep -q '\"mac:$mac_r\"'"
check "its grant left the cache (one left)" [ "$(lab_metric bng_nexus_allocations)" = 1 ]
check "no release left pending" [ "$(lab_metric bng_nexus_releases_pending)" = 0 ]
# Nexus picks addresses by a hash of the subscriber: a reservation makes it pick $ip_r for
# the next subscriber, which the BNG serves only if its cache no longer holds the address.
updated=$(nexus_api PUT /api/v1/pools/residential-ipv4 "{$pool_body, \"reservations\": {\"mac:$mac_r2\": \"$ip_r\"}}")
check "Nexus reserves $ip_r for mac:$mac_r2" grep -q "\"mac:$mac_r2\":\"$ip_r\"" <<<"$updated"
set_mac "$mac_r2"
ip_r2=$(lab_udhcpc_release USR2)
check "another subscriber is served the released address ($ip_r2)" [ "$ip_r2" = "$ip_r" ]
check "udhcpc released it on SIGUSR2" [ "$(grep -c "unicasting a release of $ip_r to 10.0.1.1" "$LAB_DIR/udhcpc.log")" = 2 ]
check "that release reached Nexus too (404 for mac:$mac_r2)" wait_for 5 nexus_released "$mac_r2"
updated=$(nexus_api PUT /api/v1/pools/residential-ipv4 "{$pool_body}")
check "the reservation is removed" grep -q '"reservations":{}' <<<"$updated"
check "the first subscriber still holds its allocation" [ "$(nexus_status "/api/v1/allocations/mac:$mac_a?pool_id=residential-ipv4")" = 200 ]

# 7. bng restarted while Nexus is down: with a [[pools]] entry of the served pool it starts,
# serves its stored subscriber, holds new ones, and serves them once Nexus is back.
nexus_stop
LAB_LEASE_TIME=300 LAB_RENEWAL_TIME=150 LAB_REBINDING_TIME=250 lab_config "$LAB_DIR/bng.toml" "[nexus]
endpoints = [\"127.0.0.1:$nexus_port\"]
token_file = \"$LAB_DIR/nexus.token\"
heartbeat_interval = \"1s\"
timeout = \"1s\""
lab_stop_bng
ip netns exec "$LAB_SRV" "$bng" run --config "$LAB_DIR/bng.toml" >>"$LAB_DIR/bng.log" 2>&1 &
# shellcheck disable=SC2034 # lab_stop_bng and lab_down end it
LAB_BNG_PID=$!
check "bng starts with Nexus down (liveness)" wait_for 10 quiet lab_api /health/live
check "it says where the pool came from" grep -q "come from its \[\[pools\]\] entry" "$LAB_DIR/bng.log"
set_mac "$mac_a"
ip_a4=$(lab_udhcpc || true)
check "the stored subscriber is served during the outage ($ip_a4)" [ "$ip_a4" = "$ip_a" ]
mac_c=02:00:00:00:cc:03
set_mac "$mac_c"
ip_c=$(lab_udhcpc || true)
check "a new subscriber gets nothing during the outage" [ -z "$ip_c" ]
nexus_start
check "readiness recovers once Nexus answers" wait_for 10 quiet lab_api /health/ready
ip_c=$(lab_udhcpc || true)
granted_c=$(nexus_api GET "/api/v1/allocations/mac:$mac_c?pool_id=residential-ipv4" | json_field ip)
check "the new subscriber is served once Nexus is back ($ip_c)" grep -qE '^10\.0\.1\.[0-9]+$' <<<"$ip_c"
check "Nexus lists $ip_c for mac:$mac_c" [ "$granted_c" = "$ip_c" ]

# 8. Two bng nodes on one Nexus pool: a second daemon in the BNG namespace serves a second
# subscriber link; subscribers alternate between the nodes and never share an address.
ip link add "${LAB}-s2" type veth peer name "${LAB}-c2"
ip link set "${LAB}-s2" netns "$LAB_SRV"
ip link set "${LAB}-c2" netns "$LAB_CLI"
ip -n "$LAB_SRV" link set "${LAB}-s2" up
ip -n "$LAB_CLI" link set "${LAB}-c2" up
ip netns exec "$LAB_CLI" ethtool -K "${LAB}-c2" tx off rx off >/dev/null
ip netns exec "$LAB_SRV" ethtool -K "${LAB}-s2" tx off rx off >/dev/null
sed -e "s/^id = \"$LAB\"/id = \"$LAB-2\"/" -e "s/^subscriber = \"$LAB_SRV\"/subscriber = \"${LAB}-s2\"/" \
  -e 's/^port = 8080/port = 8081/' -e 's/^port = 9090/port = 9091/' \
  -e 's/leases\.db/leases2.db/' -e 's/sessions\.db/sessions2.db/' "$LAB_DIR/bng.toml" >"$LAB_DIR/bng2.toml"
ip netns exec "$LAB_SRV" "$bng" run --config "$LAB_DIR/bng2.toml" >>"$LAB_DIR/bng2.log" 2>&1 &
bng2_pid=$!
check "the second bng node is ready" wait_for 10 bash -c "ip netns exec $LAB_SRV curl -sf --max-time 1 http://127.0.0.1:8081/health/ready >/dev/null"
# dora IFACE: one DORA with udhcpc on IFACE in the client namespace; prints the address.
dora() {
  : >"$LAB_DIR/udhcpc.events"
  LAB_EVENTS="$LAB_DIR/udhcpc.events" timeout 30 ip netns exec "$LAB_CLI" \
    udhcpc -f -q -n -t 5 -T 1 -i "$1" -s "$LAB_DIR/udhcpc.script" >>"$LAB_DIR/udhcpc.log" 2>&1 || true
  awk '$1 == "bound" { ip = $2 } END { print ip }' "$LAB_DIR/udhcpc.events"
}
declare -A owner_of=()
for i in 1 2 3 4; do
  for node in 1 2; do
    iface=$LAB_CLI
    [[ $node == 2 ]] && iface="${LAB}-c2"
    mac=02:00:00:0$node:0$i:00
    ip -n "$LAB_CLI" link set "$iface" address "$mac"
    got=$(dora "$iface")
    [[ $got =~ ^10\.0\.1\.[0-9]+$ ]] || fail "node $node gave $mac no address"
    [[ -z ${owner_of[$got]:-} ]] || fail "$got given to $mac (node $node) and to ${owner_of[$got]}"
    owner_of[$got]="$mac (node $node)"
    listed=$(nexus_api GET "/api/v1/allocations/mac:$mac?pool_id=residential-ipv4" | json_field ip)
    [[ $listed == "$got" ]] || fail "Nexus lists $listed for mac:$mac, node $node gave $got"
  done
done
check "8 subscribers on two nodes got 8 distinct addresses, each Nexus's grant" [ "${#owner_of[@]}" = 8 ]
check "the second node registered with Nexus" wait_for 5 bash -c "ip netns exec $LAB_SRV curl -s http://127.0.0.1:$nexus_port/api/v1/nodes | grep -q '\"$LAB-2\"'"
kill "$bng2_pid"
wait "$bng2_pid" 2>/dev/null || true
bng2_pid=""
echo "PASS"
