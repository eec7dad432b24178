#!/usr/bin/env bash
# Faults, each stating what survives and what the operator sees (issue 8):
#   kill_under_load  SIGKILL of bng while perfdhcp (as a relay) binds subscribers: every
#                    address an ACK left with (seen on the wire by tshark) is bound again
#                    after the restart; the restart replaces the fast path the dead daemon left
#   kill_under_load_radius  the same with RADIUS authorisation and accounting to a real
#                    FreeRADIUS: every ACKed lease is bound again and its session active, and
#                    FreeRADIUS receives the one Accounting Start each of those sessions made
#                    (none lost, none made twice: a restored session sends no new Start; a
#                    record queued at the kill may arrive twice, flagged by Acct-Delay-Time);
#                    the operator sees the accounting queue drain to 0, the active sessions
#                    match the bound leases, ready, and a log line of what the restart restored
#   link_flap        the subscriber link goes down: bng keeps running, /health/ready names the
#                    link; back up: ready again, subscribers served, XDP and TC still attached
#   bpffs_missing    pin_path not on a bpffs: bng refuses to start, non-zero exit, and the log
#                    says what to mount
# Usage: bng_faults_e2e.sh <bng binary> <scenario>. Exit 77 (skipped) without root.
set -euo pipefail
bng=$1
scenario=$2
here=$(cd "$(dirname "$0")" && pwd)
if [[ $(id -u) -ne 0 ]]; then
  echo "SKIP: needs root for network namespaces, XDP and AF_PACKET"
  exit 77
fi
LAB="bft$$"
# shellcheck source=../../scripts/lib/bng-lab.sh
source "$here/../../scripts/lib/bng-lab.sh"
# shellcheck source=lib/freeradius.sh
source "$here/lib/freeradius.sh"
fr_dir="$LAB_DIR/freeradius"
extra_pids=()
cleanup() {
  if ((${#extra_pids[@]})); then kill "${extra_pids[@]}" 2>/dev/null || true; fi
  fr_stop "$fr_dir" 2>/dev/null || true
  lab_down
}
trap cleanup EXIT
fail() {
  echo "FAIL [$scenario]: $*" >&2
  echo "--- bng log" >&2; cat "$LAB_DIR/bng.log" >&2 || true
  if [[ -f $(fr_log "$fr_dir") ]]; then echo "--- radius log" >&2; tail -n 40 "$(fr_log "$fr_dir")" >&2; fi
  exit 1
}
# shellcheck source=lib/checks.sh
source "$here/lib/checks.sh"

# kill_mid_load [CLIENTS RATE]: perfdhcp (as a relay) binds up to CLIENTS subscribers (200),
# RATE new exchanges a second (100), for 6 s; bng gets SIGKILL 2 s in. The ACKs that reached
# the relay are in $LAB_DIR/acks.txt as "<address> <client MAC>", $acked of them.
kill_mid_load() {
  local clients=${1:-200} rate=${2:-100}
  ip -n "$LAB_CLI" addr add 10.0.1.2/24 dev "$LAB_CLI"
  ip netns exec "$LAB_CLI" tshark -l -n -i "$LAB_CLI" -f "udp port 67" -Y "dhcp.option.dhcp == 5" \
    -T fields -E occurrence=f -e dhcp.ip.your -e dhcp.hw.mac_addr >"$LAB_DIR/acks.txt" 2>"$LAB_DIR/tshark.log" &
  extra_pids+=($!)
  sleep 2  # tshark's capture starts
  ip netns exec "$LAB_CLI" timeout 20 perfdhcp -4 -l 10.0.1.2 -r "$rate" -p 6 -R "$clients" 10.0.1.1 >"$LAB_DIR/perfdhcp.log" 2>&1 &
  extra_pids+=($!)
  local load=$!
  sleep 2
  lab_stop_bng KILL
  wait "$load" || true
  sleep 1
  kill "${extra_pids[0]}" 2>/dev/null || true
  wait "${extra_pids[0]}" 2>/dev/null || true
  acked=$(sort -u "$LAB_DIR/acks.txt" | awk 'NF == 2' | wc -l)
  check "the daemon ACKed subscribers before it was killed ($acked)" ge "$acked" 20
}

# check_acked_leases_bound: after the restart, every ACKed address is bound to its client.
check_acked_leases_bound() {
  local lost=0 ip mac
  while read -r ip mac; do
    [[ -n $ip && -n $mac ]] || continue
    if ! lab_api "/api/v1/leases/$ip" | grep -q "\"subscriber\":\"mac:$mac\".*\"state\":\"bound\"\|\"state\":\"bound\".*\"subscriber\":\"mac:$mac\""; then
      echo "lost: $ip $mac" >&2
      lost=$((lost + 1))
    fi
  done < <(sort -u "$LAB_DIR/acks.txt")
  check "every ACKed lease survived SIGKILL mid-load ($acked ACKed, $lost lost)" [ "$lost" = 0 ]
}

# starts_check MODE [RESUMED]: compares the ACKs, the active sessions (API) and the Accounting
# Starts FreeRADIUS recorded; prints what is wrong. MODE delivered: every ACKed lease has an
# active session and every active session a Start (its Acct-Session-Id, Framed-IP-Address,
# Calling-Station-Id). MODE once: moreover each session made one Start (one Event-Timestamp,
# one Acct-Unique-Session-Id, no Start of another session for its subscriber: the restart
# neither started it afresh nor sent a new Start for it). A second copy of that one record is
# a redelivery: a record is dequeued once its acknowledgement is on disk, so one FreeRADIUS
# had logged when the SIGKILL came is sent again (at-least-once, RFC 2866 5.2: marked by its
# Acct-Delay-Time, recognised by the server by its Acct-Unique-Session-Id); such copies must
# be no more than the RESUMED records the restart found queued.
starts_check() {
  lab_api "/api/v1/sessions?state=active" >"$LAB_DIR/sessions.json" || { echo "no sessions from the API" >&2; return 1; }
  fr_detail_fields "$fr_dir" Acct-Status-Type Acct-Session-Id Framed-IP-Address Calling-Station-Id \
    Event-Timestamp Acct-Unique-Session-Id Acct-Delay-Time >"$LAB_DIR/records.tsv"
  /usr/bin/python3 - "$1" "${2:-0}" "$LAB_DIR/acks.txt" "$LAB_DIR/sessions.json" "$LAB_DIR/records.tsv" <<'PY'
import collections, json, sys
mode, resumed, acks_file, sessions_file, records_file = sys.argv[1], int(sys.argv[2]), *sys.argv[3:]
acked = {tuple(l.split()) for l in open(acks_file) if len(l.split()) == 2}
sessions = {s["mac"]: s for s in json.load(open(sessions_file))["sessions"]}
starts = [r.rstrip("\n").split("\t")[1:] for r in open(records_file) if r.startswith("Start\t")]
by_id = collections.defaultdict(list)  # file order: the first is the original
ids_by_mac = collections.defaultdict(set)
for sid, ip, mac, stamp, unique, delay in starts:
    by_id[sid].append((ip, mac, stamp, unique, delay))
    ids_by_mac[mac].add(sid)
problems, copies = [], 0
for ip, mac in sorted(acked):
    s = sessions.get(mac)
    if not s or s["ip"] != ip:
        problems.append(f"ACKed {ip} {mac}: no active session on that address")
for mac, s in sorted(sessions.items()):
    sid, ip = s["id"], s["ip"]
    records = by_id.get(sid, [])
    if not any(r[:2] == (ip, mac) for r in records):
        problems.append(f"session {sid} ({ip} {mac}): no Start with its id, address and MAC")
        continue
    if mode != "once":
        continue
    if ids_by_mac[mac] != {sid}:
        problems.append(f"{mac}: Starts of sessions {sorted(ids_by_mac[mac])}, active is {sid}")
    if len({r[:4] for r in records}) != 1:
        problems.append(f"session {sid} ({ip} {mac}): {len(records)} different Starts: {records}")
    for r in records[1:]:
        copies += 1
        if r[4] == "-" or int(r[4]) < 1:
            problems.append(f"session {sid}: a second Start not marked as delayed: {r}")
if mode == "once":
    if copies > resumed:
        problems.append(f"{copies} Starts delivered twice, but the restart resumed only {resumed} queued records")
    print(f"{len(sessions)} sessions, {len(starts)} Start records, {copies} of them redelivered "
          f"(the restart resumed {resumed} queued records)")
for p in problems[:20]:
    print(p, file=sys.stderr)
sys.exit(1 if problems else 0)
PY
}

lab_up
case "$scenario" in
kill_under_load)
  command -v tshark >/dev/null || { echo "SKIP: tshark not installed"; exit 77; }
  command -v perfdhcp >/dev/null || { echo "SKIP: perfdhcp not installed"; exit 77; }
  LAB_POOL_RANGE=10.0.1.10-10.0.1.250 lab_config "$LAB_DIR/bng.toml"
  lab_start_bng "$bng" "$LAB_DIR/bng.toml"
  kill_mid_load
  lab_start_bng "$bng" "$LAB_DIR/bng.toml"
  check "the restart replaced the fast path the killed daemon left" [ "$(lab_metric bng_fastpath_attached)" = 1 ]
  check_acked_leases_bound
  active=$(lab_metric 'bng_sessions{state="active"}')
  check "their sessions are back too ($active active)" ge "$active" "$acked"
  ;;
kill_under_load_radius)
  command -v tshark >/dev/null || { echo "SKIP: tshark not installed"; exit 77; }
  command -v perfdhcp >/dev/null || { echo "SKIP: perfdhcp not installed"; exit 77; }
  fr_available || { echo "SKIP: FreeRADIUS (freeradius, freeradius-utils) not installed or its raddb unreadable"; exit 77; }
  auth_port=$(fr_free_udp_port)
  acct_port=$(fr_free_udp_port)
  mkdir -p "$fr_dir"
  printf 'DEFAULT Auth-Type := Accept\n' >"$fr_dir/users"
  fr_start "$fr_dir" "$auth_port" "$acct_port" "$LAB_SRV" || fail "FreeRADIUS did not start"
  # More subscribers than perfdhcp can bind before the kill, so it lands while new ones are
  # authorised and their Starts are queued, sent and acknowledged. Leases (and so sessions)
  # outlive the test: nothing ends on its own while it looks.
  LAB_POOL_NETWORK=10.0.0.0/20 LAB_POOL_RANGE=10.0.2.0-10.0.9.255 \
    LAB_LEASE_TIME=600 LAB_RENEWAL_TIME=300 LAB_REBINDING_TIME=500 \
    lab_config "$LAB_DIR/bng.toml" "$(lab_radius_toml "$auth_port" "$acct_port")
[radius.dae]
enabled = false"
  lab_start_bng "$bng" "$LAB_DIR/bng.toml" || fail "bng did not start"
  check "Accounting-On recorded by FreeRADIUS" wait_for 10 fr_detail_has "$fr_dir" "Acct-Status-Type = Accounting-On"
  kill_mid_load 1500 200
  log_lines=$(wc -l <"$LAB_DIR/bng.log")
  lab_start_bng "$bng" "$LAB_DIR/bng.toml" || fail "bng did not restart"
  check_acked_leases_bound
  check "every ACKed lease's session is active and FreeRADIUS got its Start" wait_for 60 starts_check delivered
  check "the accounting queue drained" wait_for 60 bash -c "[ \"\$(ip netns exec $LAB_SRV curl -sf http://127.0.0.1:9090/metrics | awk '\$1 == \"bng_radius_accounting_queue\" { print \$2 }')\" = 0 ]"
  restart_log() { tail -n +$((log_lines + 1)) "$LAB_DIR/bng.log"; }
  check "the log says what the restart restored: the sessions carried over, the accounting still owed" \
    quiet grep -E "sessions restored: [1-9][0-9]* active .*accounting queue resumed with [0-9]+ records" <(restart_log)
  resumed=$(restart_log | sed -n 's/.*accounting queue resumed with \([0-9]*\) records.*/\1/p')
  check "one Start per session: none lost, none made again by the restart, copies only of the $resumed records resumed" \
    starts_check once "$resumed"
  records() { fr_detail_fields "$fr_dir" Acct-Status-Type | grep -cx "$1" || true; }
  check "no Stop: the kill and restart ended no session" [ "$(records Stop)" = 0 ]
  check "no second Accounting-On: the restart carried sessions over" [ "$(records Accounting-On)" = 1 ]
  active=$(lab_metric 'bng_sessions{state="active"}')
  bound=$(lab_metric 'bng_dhcp_leases{state="bound"}')
  check "active sessions ($active) match the bound leases ($bound), at least the $acked ACKed" \
    bash -c "[ '$active' = '$bound' ] && [ '$active' -ge '$acked' ]"
  check "ready, RADIUS included" quiet lab_api /health/ready
  check "no session store write failed" [ "$(lab_metric 'bng_session_errors_total{kind="store"}')" = 0 ]
  ;;
link_flap)
  lab_config "$LAB_DIR/bng.toml"
  lab_start_bng "$bng" "$LAB_DIR/bng.toml"
  ip1=$(lab_udhcpc)
  check "served before the fault ($ip1)" [ -n "$ip1" ]
  ip -n "$LAB_SRV" link set "$LAB_SRV" down
  check "readiness names the link that is down" bash -c "sleep 0.3; ip netns exec $LAB_SRV curl -s http://127.0.0.1:8080/health/ready | grep -q '$LAB_SRV is down'"
  check "the daemon is still alive" kill -0 "$LAB_BNG_PID"
  ip -n "$LAB_SRV" link set "$LAB_SRV" up
  for _ in $(seq 1 30); do lab_api /health/ready >/dev/null 2>&1 && break; sleep 0.2; done
  check "ready again once the link is up" quiet lab_api /health/ready
  check "XDP still attached" [ "$(lab_metric bng_fastpath_attached)" = 1 ]
  check "TC counters still attached" [ "$(lab_metric bng_subscriber_traffic_attached)" = 1 ]
  ip netns exec "$LAB_CLI" ip link set "$LAB_CLI" address 02:00:00:00:00:77
  ip2=$(lab_udhcpc)
  check "a new subscriber is served after the flap ($ip2)" [ -n "$ip2" ]
  ;;
bpffs_missing)
  lab_config "$LAB_DIR/bng.toml"
  # ip netns exec remounts /sys: no bpffs inside the namespace (TESTBED.md).
  sed -i 's|^pin_path = ""|pin_path = "/sys/fs/bpf/bngkit-faults"|' "$LAB_DIR/bng.toml"
  rc=0
  timeout 20 ip netns exec "$LAB_SRV" "$bng" run --config "$LAB_DIR/bng.toml" >"$LAB_DIR/bng.log" 2>&1 || rc=$?
  check "bng refuses to start (exit $rc)" [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ]
  check "the log says bpffs is missing and how to mount it" grep -q "not on a bpffs mount: mount -t bpf bpf /sys/fs/bpf" "$LAB_DIR/bng.log"
  check "nothing was left attached" bash -c "! ip -n $LAB_SRV link show $LAB_SRV | grep -q xdp"
  ;;
*)
  echo "unknown scenario $scenario" >&2
  exit 2
  ;;
esac
echo "PASS [$scenario]"
