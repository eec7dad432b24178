#!/usr/bin/env bash
# Every daemon's /metrics passes `promtool check metrics` (names, types, help, suffixes),
# and every shipped alert rule file passes `promtool check rules`. The daemons run in a
# network namespace of their own (fixed ports, nothing leaks), with some real traffic.
# Usage: daemon_metrics_check.sh <nexus binary> <udp-fanout binary> <deploy dir>
# Exit 77 (skipped) without root or without promtool.
set -euo pipefail
nexus=$1
fanout=$2
deploy=$3
if ! command -v promtool >/dev/null; then
  echo "SKIP: promtool not installed (Debian package prometheus)"; exit 77
fi
fail() { echo "FAIL: $*" >&2; exit 1; }

promtool check rules "$deploy"/*/*-alerts.yml || fail "alert rules"

if [[ $(id -u) -ne 0 ]]; then echo "SKIP: needs root for a network namespace"; exit 77; fi
ns="dmc$$"
dir=$(mktemp -d)
pids=()
cleanup() {
  if ((${#pids[@]})); then kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; fi
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link set lo up

# metrics_ok NAME URL: fetched once the daemon answers, then linted.
metrics_ok() {
  local name=$1 url=$2
  for _ in $(seq 1 50); do
    ip netns exec "$ns" curl -sf --max-time 2 "$url" >"$dir/$name.metrics" && break
    sleep 0.1
  done
  [[ -s $dir/$name.metrics ]] || fail "$name: no metrics at $url"
  promtool check metrics <"$dir/$name.metrics" || fail "$name: promtool check metrics"
  echo "ok - $name /metrics ($(grep -c '^[a-z]' "$dir/$name.metrics") samples)"
}

cat >"$dir/nexus.toml" <<TOML
[server]
http_port = 9000
metrics_port = 9002
[node]
id = "nexus-0"
[storage]
path = "$dir/nexus-data"
TOML
ip netns exec "$ns" "$nexus" run --config "$dir/nexus.toml" >"$dir/nexus.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do ip netns exec "$ns" curl -sf http://127.0.0.1:9000/health >/dev/null && break; sleep 0.1; done
# Real state behind the series: a pool, an allocation.
ip netns exec "$ns" curl -sf -X POST -H 'Content-Type: application/json' \
  -d '{"id":"p1","cidr":"10.9.0.0/24","gateway":"10.9.0.1"}' http://127.0.0.1:9000/api/v1/pools >/dev/null ||
  { cat "$dir/nexus.log" >&2; fail "nexus: creating a pool"; }
ip netns exec "$ns" curl -sf -X POST -H 'Content-Type: application/json' \
  -d '{"pool_id":"p1","subscriber_id":"mac:02:00:00:00:00:01"}' http://127.0.0.1:9000/api/v1/allocations >/dev/null ||
  fail "nexus: allocating"
metrics_ok nexus http://127.0.0.1:9002/metrics

cat >"$dir/fanout.toml" <<TOML
[[listeners]]
name = "syslog"
bind = "127.0.0.1:5514"
mode = "userspace"
policy = "replicate"
[[listeners.downstream]]
name = "sink"
address = "127.0.0.1:5515"
[metrics]
enabled = true
bind = "127.0.0.1:9190"
path = "/metrics"
TOML
ip netns exec "$ns" "$fanout" run --config "$dir/fanout.toml" >"$dir/fanout.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do ip netns exec "$ns" curl -sf http://127.0.0.1:9190/health/live >/dev/null && break; sleep 0.1; done
for i in 1 2 3; do ip netns exec "$ns" bash -c "echo 'test $i' >/dev/udp/127.0.0.1/5514"; done
metrics_ok udp-fanout http://127.0.0.1:9190/metrics
echo "PASS"
