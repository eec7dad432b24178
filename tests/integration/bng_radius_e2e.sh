#!/usr/bin/env bash
# End-to-end: the bng daemon with a real FreeRADIUS 3.2 and a real DHCP client (udhcpc) in
# network namespaces. FreeRADIUS runs in the BNG's namespace (tests/integration/lib/
# freeradius.sh); radclient plays the operator's CoA/Disconnect tool.
#   - a known subscriber (MAC) is authorised: Framed-IP-Address is the address it gets,
#     the WISPr rate is enforced in the kernel, its session shows in /api/v1/sessions
#   - accounting: Accounting-On at start, Start with Class, and after a Disconnect-Request a
#     Stop with Admin-Reset and the packets the client really sent (kernel counters); after
#     the client's DHCPRELEASE a Stop with User-Request
#   - CoA changes the session's rate; a CoA for an unknown session is NAKed
#   - an unknown subscriber is rejected and gets no address
#   - a restart keeps sessions (no new Start, no Accounting-On)
#   - FreeRADIUS stopped: the BNG keeps serving its subscriber, reports the server down and
#     keeps the accounting it could not deliver; restarted: the records arrive
# Usage: bng_radius_e2e.sh <bng binary>. Exit 77 (skipped) without root or FreeRADIUS.
set -euo pipefail
bng=$1
here=$(cd "$(dirname "$0")" && pwd)
if [[ $(id -u) -ne 0 ]]; then
  echo "SKIP: needs root for network namespaces, XDP, TC and AF_PACKET"
  exit 77
fi
# shellcheck source=lib/freeradius.sh
source "$here/lib/freeradius.sh"
if ! fr_available; then
  echo "SKIP: FreeRADIUS (freeradius, freeradius-utils) not installed or its raddb unreadable"
  exit 77
fi
LAB="brad$$"
# shellcheck source=../../scripts/lib/bng-lab.sh
source "$here/../../scripts/lib/bng-lab.sh"
fr_dir="$LAB_DIR/freeradius"
cleanup() {
  fr_stop "$fr_dir" 2>/dev/null || true
  lab_down
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  echo "--- bng log" >&2; cat "$LAB_DIR/bng.log" >&2 || true
  echo "--- radius log" >&2; tail -n 40 "$(fr_log "$fr_dir")" >&2 || true
  exit 1
}
# shellcheck source=lib/checks.sh
source "$here/lib/checks.sh"
session_field() {  # session_field EXPR: of the first active session in the API
  lab_api "/api/v1/sessions?state=active" | /usr/bin/python3 -c "import json,sys; s=json.load(sys.stdin)['sessions']; print(eval(sys.argv[1]) if s else '')" "$1"
}
radclient_to() {  # radclient_to PORT TYPE SECRET ATTRS
  printf '%s\n' "$4" | ip netns exec "$LAB_SRV" radclient -r 1 -t 2 -x "127.0.0.1:$1" "$2" "$3" 2>&1 || true
}

lab_up
known_mac=02:00:00:00:00:01
ip -n "$LAB_CLI" link set "$LAB_CLI" address "$known_mac"

auth_port=$(fr_free_udp_port)
acct_port=$(fr_free_udp_port)
dae_port=$(fr_free_udp_port)
mkdir -p "$fr_dir"
cat >"$fr_dir/users" <<USERS
"$known_mac" Cleartext-Password := "bng"
	Framed-IP-Address = 10.0.1.150,
	Class = "plan=gold",
	WISPr-Bandwidth-Max-Down = 2000000

DEFAULT Auth-Type := Reject
	Reply-Message = "unknown subscriber"
USERS
fr_start "$fr_dir" "$auth_port" "$acct_port" "$LAB_SRV" || fail "FreeRADIUS did not start"

lab_config "$LAB_DIR/bng.toml" "$(lab_radius_toml "$auth_port" "$acct_port")
[radius.dae]
bind = \"127.0.0.1\"
port = $dae_port
[[radius.dae.clients]]
address = \"127.0.0.1\"
secret = \"coasecret\"
"
lab_start_bng "$bng" "$LAB_DIR/bng.toml" || fail "bng did not start"

check "Accounting-On recorded by FreeRADIUS" wait_for 5 fr_detail_has "$fr_dir" "Acct-Status-Type = Accounting-On" "NAS-Identifier = \"$LAB\""

ip1=$(lab_udhcpc)
check "the authorised subscriber gets its Framed-IP-Address ($ip1)" [ "$ip1" = "10.0.1.150" ]
check "one active session in the API" [ "$(session_field "s[0]['state']")" = "active" ]
session_id=$(session_field "s[0]['id']")
check "the session carries the RADIUS rate" [ "$(session_field "s[0]['rate']['down_bps']")" = "2000000" ]
check "the rate is in the kernel" ge "$(lab_metric bng_subscriber_traffic_entries)" 1
check "Accounting Start with Class and the session id" wait_for 5 fr_detail_has "$fr_dir" "Acct-Status-Type = Start" \
  "Acct-Session-Id = \"$session_id\"" "Framed-IP-Address = 10.0.1.150" "Class = 0x706c616e3d676f6c64"

# Traffic the kernel counts: 20 pings of 100 octets up (and their replies down).
ip netns exec "$LAB_CLI" ping -c 20 -i 0.05 -s 72 -q 10.0.1.1 >/dev/null || fail "ping through the BNG"
check "the session's upstream counter saw the pings" wait_for 3 \
  bash -c "[ \"\$(ip netns exec $LAB_SRV curl -sf http://127.0.0.1:8080/api/v1/sessions/$session_id | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[\"counters\"][\"packets_up\"])')\" -ge 20 ]"

out=$(radclient_to "$dae_port" coa coasecret "Acct-Session-Id = \"$session_id\"
WISPr-Bandwidth-Max-Down = 4000000")
check "CoA-Request answered with CoA-ACK" grep -q "CoA-ACK" <<<"$out"
check "CoA changed the session's rate" [ "$(session_field "s[0]['rate']['down_bps']")" = "4000000" ]
out=$(radclient_to "$dae_port" coa coasecret 'Acct-Session-Id = "ffffffffffffffff"')
check "CoA for an unknown session is NAKed (Session-Context-Not-Found)" grep -q "CoA-NAK" <<<"$out"
out=$(radclient_to "$dae_port" disconnect wrongsecret "Acct-Session-Id = \"$session_id\"")
check "a Disconnect-Request with a bad secret gets no answer" bash -c "! grep -q 'Disconnect-ACK' <<<'$out'"
check "... and the session stays" [ "$(session_field "s[0]['state']")" = "active" ]

out=$(radclient_to "$dae_port" disconnect coasecret "Acct-Session-Id = \"$session_id\"")
check "Disconnect-Request answered with Disconnect-ACK" grep -q "Disconnect-ACK" <<<"$out"
check "the session is gone" [ "$(lab_api /api/v1/sessions | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])')" = 0 ]
check "the lease is gone" [ "$(lab_metric 'bng_dhcp_leases{state="bound"}')" = 0 ]
check "Accounting Stop with Admin-Reset and the kernel's packet counts" wait_for 5 fr_detail_has "$fr_dir" \
  "Acct-Status-Type = Stop" "Acct-Session-Id = \"$session_id\"" "Acct-Terminate-Cause = Admin-Reset" \
  "Acct-Input-Packets = ([2-9][0-9]|[1-9][0-9][0-9]+)"

# Back, then gone with a DHCPRELEASE (udhcpc -R on SIGTERM): Stop with User-Request.
ip_rel=$(lab_udhcpc_release TERM)
check "the subscriber is back and releases ${ip_rel:-nothing} on leaving" \
  grep -q "unicasting a release of ${ip_rel:-none} to 10.0.1.1" "$LAB_DIR/udhcpc.log"
check "Accounting Stop with User-Request for the released address" wait_for 5 fr_detail_has "$fr_dir" \
  "Acct-Status-Type = Stop" "Acct-Terminate-Cause = User-Request" "Framed-IP-Address = $ip_rel"
check "the session is gone" [ "$(lab_api /api/v1/sessions | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])')" = 0 ]

ip -n "$LAB_CLI" link set "$LAB_CLI" address 02:00:00:00:00:99
ip2=$(lab_udhcpc)
check "an unknown subscriber gets no address" [ -z "$ip2" ]
check "... counted as an Access-Reject" ge "$(lab_metric 'bng_radius_access_total{result="reject"}')" 1

# FreeRADIUS goes away: the subscriber keeps being served, accounting waits on disk.
ip -n "$LAB_CLI" link set "$LAB_CLI" address "$known_mac"
ip3=$(lab_udhcpc)
check "the known subscriber is back ($ip3)" [ "$ip3" = "10.0.1.150" ]
# A restart keeps the session: same id, still active, no new Start and no Accounting-On.
session_id=$(session_field "s[0]['id']")
lab_stop_bng
lab_start_bng "$bng" "$LAB_DIR/bng.toml" || fail "bng did not restart"
check "the session survives a restart" [ "$(session_field "s[0]['id']")" = "$session_id" ]
sleep 1
records() { grep -c "$1" "$(fr_detail_file "$fr_dir")" || true; }
check "no second Accounting-On after a restart with sessions" [ "$(records 'Acct-Status-Type = Accounting-On')" = 1 ]
check "no second Start for the restored session" \
  [ "$(fr_detail_fields "$fr_dir" Acct-Status-Type Acct-Session-Id | grep -cx "Start	$session_id")" = 1 ]

fr_stop "$fr_dir"
lab_api "/api/v1/sessions/$session_id" -X DELETE >/dev/null || fail "DELETE /api/v1/sessions/$session_id"
check "the Stop waits in the queue while the server is down" wait_for 10 \
  bash -c "[ \"\$(ip netns exec $LAB_SRV curl -sf http://127.0.0.1:9090/metrics | awk '\$1 == \"bng_radius_accounting_queue\" { print \$2 }')\" -ge 1 ]"
check "the accounting server is reported down" wait_for 10 \
  bash -c "ip netns exec $LAB_SRV curl -sf http://127.0.0.1:9090/metrics | grep -q 'bng_radius_server_up{server=\"127.0.0.1:$acct_port\",service=\"acct\"} 0'"
fr_start "$fr_dir" "$auth_port" "$acct_port" "$LAB_SRV" || fail "FreeRADIUS did not restart"
check "the queued Stop reaches FreeRADIUS once it is back" wait_for 30 fr_detail_has "$fr_dir" \
  "Acct-Status-Type = Stop" "Acct-Session-Id = \"$session_id\"" "Acct-Delay-Time = [1-9]"
echo "PASS [radius]"
