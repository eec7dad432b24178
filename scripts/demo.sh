#!/usr/bin/env bash
# The bngkit demo: installs what is needed, builds the bng daemon, and serves a real DHCP
# client through it — first through the userspace slow path, then a renewal answered by
# the XDP fast path in the kernel — and shows the leases and metrics. Needs root.
# Everything it creates (namespaces, veth, processes, files) is removed when it exits.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BNGKIT_BUILD_DIR:-$root/build}

if [[ $(id -u) -ne 0 ]]; then
  echo "demo.sh: needs root (network namespaces, XDP, AF_PACKET)" >&2
  exit 1
fi
"$root/scripts/install-deps.sh"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target bng -j "$(nproc)"

# busybox udhcpc renews at half the lease and treats leases under 16 s as 16 s.
LAB_LEASE_TIME=20 LAB_RENEWAL_TIME=10 LAB_REBINDING_TIME=17
export LAB_LEASE_TIME LAB_RENEWAL_TIME LAB_REBINDING_TIME
# shellcheck source=lib/bng-lab.sh
source "$root/scripts/lib/bng-lab.sh"
trap lab_down EXIT
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "Lab: namespace $LAB_SRV runs bng on veth $LAB_SRV (10.0.1.1); namespace $LAB_CLI is the subscriber"
lab_up
lab_config "$LAB_DIR/bng.toml"
"$build/apps/bng/bng" validate --config "$LAB_DIR/bng.toml"
lab_start_bng "$build/apps/bng/bng" "$LAB_DIR/bng.toml"
sed 's/^/  bng | /' "$LAB_DIR/bng.log"

say "1. A new subscriber (udhcpc) asks for an address: the kernel has nothing cached, the slow path answers"
ip=$(lab_udhcpc)
[[ -n "$ip" ]] || { echo "no lease obtained"; cat "$LAB_DIR/udhcpc.log"; exit 1; }
echo "  subscriber got $ip"
echo "  slow path replies: offer=$(lab_metric 'bng_dhcp_slowpath_replies_total{type="offer"}')" \
  "ack=$(lab_metric 'bng_dhcp_slowpath_replies_total{type="ack"}')"
echo "  fast path misses (no cache entry): $(lab_metric 'bng_dhcp_fastpath_passed_total{reason="no_entry"}')"

say "2. The subscriber stays online and renews (lease ${LAB_LEASE_TIME}s): the XDP fast path answers in the kernel"
script="$LAB_DIR/udhcpc.script"
: >"$LAB_DIR/udhcpc.events"
LAB_EVENTS="$LAB_DIR/udhcpc.events" ip netns exec "$LAB_CLI" \
  udhcpc -f -n -t 5 -T 1 -i "$LAB_CLI" -s "$script" -r "$ip" >>"$LAB_DIR/udhcpc.log" 2>&1 &
client=$!
for _ in $(seq 1 250); do
  grep -q '^renew' "$LAB_DIR/udhcpc.events" && break
  sleep 0.1
done
kill "$client" 2>/dev/null; wait "$client" 2>/dev/null || true
grep -q '^renew' "$LAB_DIR/udhcpc.events" || { echo "no renewal seen"; cat "$LAB_DIR/udhcpc.log"; exit 1; }
echo "  subscriber events: $(tr '\n' ';' <"$LAB_DIR/udhcpc.events")"
echo "  fast path replies: offer=$(lab_metric 'bng_dhcp_fastpath_replies_total{type="offer"}')" \
  "ack=$(lab_metric 'bng_dhcp_fastpath_replies_total{type="ack"}')"
echo "  renewals the kernel served, applied to the lease: $(lab_metric bng_dhcp_fastpath_renewals_served_total)"

say "Leases (GET /api/v1/leases)"
lab_api /api/v1/leases | /usr/bin/python3 -m json.tool

say "Metrics (GET /metrics on :9090, bng_* samples)"
ip netns exec "$LAB_SRV" curl -sf http://127.0.0.1:9090/metrics | grep -E '^bng_' | grep -v ' 0$'

say "Stopping bng (SIGTERM detaches XDP) and cleaning up"
lab_stop_bng TERM
tail -n 2 "$LAB_DIR/bng.log" | sed 's/^/  bng | /'
