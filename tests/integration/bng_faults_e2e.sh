#!/usr/bin/env bash
# Faults, each stating what survives and what the operator sees (issue 8):
#   kill_under_load  SIGKILL of bng while perfdhcp (as a relay) binds subscribers: every
#                    address an ACK left with (seen on the wire by tshark) is bound again
#                    after the restart; the restart replaces the fast path the dead daemon left
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
extra_pids=()
cleanup() {
  if ((${#extra_pids[@]})); then kill "${extra_pids[@]}" 2>/dev/null || true; fi
  lab_down
}
trap cleanup EXIT
fail() { echo "FAIL [$scenario]: $*" >&2; echo "--- bng log" >&2; cat "$LAB_DIR/bng.log" >&2 || true; exit 1; }
# shellcheck source=lib/checks.sh
source "$here/lib/checks.sh"

lab_up
case "$scenario" in
kill_under_load)
  command -v tshark >/dev/null || { echo "SKIP: tshark not installed"; exit 77; }
  command -v perfdhcp >/dev/null || { echo "SKIP: perfdhcp not installed"; exit 77; }
  LAB_POOL_RANGE=10.0.1.10-10.0.1.250 lab_config "$LAB_DIR/bng.toml"
  lab_start_bng "$bng" "$LAB_DIR/bng.toml"
  ip -n "$LAB_CLI" addr add 10.0.1.2/24 dev "$LAB_CLI"
  # Every ACK that reaches the relay: its address and client hardware address.
  ip netns exec "$LAB_CLI" tshark -l -n -i "$LAB_CLI" -f "udp port 67" -Y "dhcp.option.dhcp == 5" \
    -T fields -E occurrence=f -e dhcp.ip.your -e dhcp.hw.mac_addr >"$LAB_DIR/acks.txt" 2>"$LAB_DIR/tshark.log" &
  extra_pids+=($!)
  sleep 2  # tshark's capture starts
  ip netns exec "$LAB_CLI" timeout 20 perfdhcp -4 -l 10.0.1.2 -r 100 -p 6 -R 200 10.0.1.1 >"$LAB_DIR/perfdhcp.log" 2>&1 &
  extra_pids+=($!)
  load=$!
  sleep 2
  lab_stop_bng KILL
  wait "$load" || true
  sleep 1
  kill "${extra_pids[0]}" 2>/dev/null || true
  wait "${extra_pids[0]}" 2>/dev/null || true
  acked=$(sort -u "$LAB_DIR/acks.txt" | awk 'NF == 2' | wc -l)
  check "the daemon ACKed subscribers before it was killed ($acked)" ge "$acked" 20
  lab_start_bng "$bng" "$LAB_DIR/bng.toml"
  check "the restart replaced the fast path the killed daemon left" [ "$(lab_metric bng_fastpath_attached)" = 1 ]
  lost=0
  while read -r ip mac; do
    [[ -n $ip && -n $mac ]] || continue
    if ! lab_api "/api/v1/leases/$ip" | grep -q "\"subscriber\":\"mac:$mac\".*\"state\":\"bound\"\|\"state\":\"bound\".*\"subscriber\":\"mac:$mac\""; then
      echo "lost: $ip $mac" >&2
      lost=$((lost + 1))
    fi
  done < <(sort -u "$LAB_DIR/acks.txt")
  check "every ACKed lease survived SIGKILL mid-load ($acked ACKed, $lost lost)" [ "$lost" = 0 ]
  active=$(lab_metric 'bng_sessions{state="active"}')
  check "their sessions are back too ($active active)" ge "$active" "$acked"
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
