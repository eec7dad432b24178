#!/usr/bin/env bash
# Runs examples/nexus-client against a real nexus daemon: a lone replica on free loopback
# ports with its store in a temporary directory, with an API token (the client sends
# NEXUS_TOKEN). The example checks every reply itself; this also checks what the daemon
# holds afterwards (the node registered, the pool created, no allocation left).
# Usage: nexus_client_check.sh <nexus binary> <nexus-client binary>
set -euo pipefail
umask 077  # the token file: the daemons refuse world-readable secrets
nexus=$1
client=$2
dir=$(mktemp -d)
pid=""
cleanup() {
  if [[ -n $pid ]]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [[ -f $dir/nexus.log ]] && tail -20 "$dir/nexus.log" >&2; exit 1; }

# Two free TCP ports (bound by the kernel's choice, released just before nexus binds them).
read -r api metrics < <(/usr/bin/python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*(x.getsockname()[1] for x in s))')

echo "example-token-0123456789" >"$dir/token"
cat >"$dir/nexus.toml" <<TOML
[server]
bind = "127.0.0.1"
http_port = $api
metrics_port = $metrics
token_file = "$dir/token"
[node]
id = "nexus-example"
[storage]
path = "$dir/data"
[graceful_shutdown]
grace_period = "100ms"   # no load balancer to drain from in a test
TOML
"$nexus" validate --config "$dir/nexus.toml" >/dev/null || fail "config does not validate"
"$nexus" run --config "$dir/nexus.toml" >"$dir/nexus.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$api/ready" >/dev/null && break
  kill -0 "$pid" 2>/dev/null || fail "nexus exited"
  sleep 0.1
done
curl -sf "http://127.0.0.1:$api/ready" >/dev/null || fail "nexus not ready"

# Without the token every write is refused, and the example says so.
if NEXUS_TOKEN="" "$client" "127.0.0.1:$api" >"$dir/noauth.out" 2>&1; then
  fail "the example succeeded without the token"
fi
grep -q "HTTP 401" "$dir/noauth.out" || fail "no 401 without the token: $(cat "$dir/noauth.out")"

NEXUS_TOKEN=$(cat "$dir/token") "$client" "127.0.0.1:$api" | tee "$dir/client.out"
grep -q "^released 10.99.0." "$dir/client.out" || fail "no release line"
# A second run: the pool exists (409 is fine), the subscriber gets an address again.
NEXUS_TOKEN=$(cat "$dir/token") "$client" "127.0.0.1:$api" >/dev/null || fail "second run"

curl -sf "http://127.0.0.1:$api/api/v1/nodes" | grep -q '"olt-example-01"' || fail "node not registered"
curl -sf "http://127.0.0.1:$api/api/v1/pools/example-pool" | grep -q '"10.99.0.0/29"' || fail "pool missing"
count=$(curl -sf "http://127.0.0.1:$api/api/v1/allocations?pool_id=example-pool" \
  | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])')
[[ $count == 0 ]] || fail "$count allocation(s) left after release"
echo "example.nexus_client: ok"
