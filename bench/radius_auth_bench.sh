#!/usr/bin/env bash
# RADIUS authentication benchmark: bngkit's radius::Client (radius_auth_load) against
# FreeRADIUS' own radclient, driving one FreeRADIUS 3.2 on loopback in the same run, each
# with COUNT unique Access-Requests (PAP) and PARALLEL in flight. radclient reads a file of
# unique requests with -p (its -c repeats one packet, which the server answers from its
# duplicate cache). Prints authentications/s, p50/p99 latency and the bngkit/radclient ratios.
# Latency is measured the same way for both on the wire (tcpdump on lo: request to reply of
# one source port and identifier), and bngkit's also from send() to the verified reply.
# Usage: bench/radius_auth_bench.sh <radius_auth_load binary>
#        (or: cmake --build build --target radius_auth_bench)
# Env: COUNT (default 20000), PARALLEL (default 64), LIMIT (seconds per run, default 60),
#      CHUNK (requests per radclient file, default 2000).
# Needs root (Debian's /etc/freeradius/3.0 is readable by root and group freerad only).
set -euo pipefail
load=${1:?usage: radius_auth_bench.sh <radius_auth_load binary>}
COUNT=${COUNT:-20000}
PARALLEL=${PARALLEL:-64}
LIMIT=${LIMIT:-60}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/integration/lib/freeradius.sh
source "$here/../tests/integration/lib/freeradius.sh"
if ! fr_available; then
  echo "radius_auth_bench: FreeRADIUS not installed or /etc/freeradius/3.0 unreadable" >&2
  exit 77
fi

dir=$(mktemp -d /tmp/bngkit-radius-bench-XXXXXX)
CAPTURE_PID=""
cleanup() {
  [[ -n $CAPTURE_PID ]] && kill "$CAPTURE_PID" 2>/dev/null && wait "$CAPTURE_PID" 2>/dev/null
  fr_stop "$dir"
  rm -rf "$dir"
}
trap cleanup EXIT

secret=bench-secret
printf 'DEFAULT Cleartext-Password := "bench-pw"\n\tSession-Timeout = 3600,\n\tFramed-IP-Netmask = 255.255.255.255\n' >"$dir/users"
printf 'client bench {\n\tipaddr = 127.0.0.1\n\tsecret = %s\n}\n' "$secret" >"$dir/clients.conf"
auth_port=$(fr_free_udp_port)
acct_port=$(fr_free_udp_port)
fr_start "$dir" "$auth_port" "$acct_port"

have_tcpdump=0
command -v tcpdump >/dev/null && have_tcpdump=1
capture_start() {  # <pcap>
  ((have_tcpdump)) || return 0
  tcpdump -i lo -n -s 64 -B 65536 -U -w "$1" "udp port $auth_port" 2>"$1.err" &
  CAPTURE_PID=$!
  for _ in $(seq 1 50); do grep -q "listening" "$1.err" 2>/dev/null && break; sleep 0.1; done
}
capture_stop() {
  ((have_tcpdump)) || return 0
  sleep 0.2
  kill -INT "$CAPTURE_PID" 2>/dev/null
  wait "$CAPTURE_PID" 2>/dev/null || true
  CAPTURE_PID=""
}
# p50 and p99 in ms of request-to-reply on the wire, from a pcap of lo (Ethernet framing).
wire_latency() {  # <pcap> <server port>
  ((have_tcpdump)) || { echo "n/a n/a"; return 0; }
  /usr/bin/python3 - "$1" "$2" <<'PY'
import struct, sys
path, port = sys.argv[1], int(sys.argv[2])
data = open(path, 'rb').read()
magic = struct.unpack('<I', data[:4])[0]
endian, scale = ('<', 1e-6) if magic in (0xa1b2c3d4,) else ('<', 1e-9) if magic == 0xa1b23c4d else ('>', 1e-6)
off, sent, lat = 24, {}, []
while off + 16 <= len(data):
    sec, frac, incl, _ = struct.unpack(endian + 'IIII', data[off:off + 16])
    pkt = data[off + 16:off + 16 + incl]
    off += 16 + incl
    if len(pkt) < 44 or pkt[12:14] != b'\x08\x00':
        continue
    ihl = (pkt[14] & 0x0f) * 4
    udp = 14 + ihl
    sport, dport = struct.unpack('>HH', pkt[udp:udp + 4])
    if len(pkt) < udp + 10:
        continue
    ident, t = pkt[udp + 9], sec + frac * scale
    if dport == port:
        sent[(sport, ident)] = t
    elif sport == port and (dport, ident) in sent:
        lat.append((t - sent.pop((dport, ident))) * 1000)
lat.sort()
pct = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] if lat else float('nan')
print('%.3f %.3f' % (pct(0.5), pct(0.99)))
PY
}

# Warm-up (threads, caches), not measured.
"$load" --server "127.0.0.1:$auth_port" --secret "$secret" --count 2000 --parallel "$PARALLEL" \
  --user-prefix warm- >/dev/null

# bngkit
capture_start "$dir/bngkit.pcap"
bngkit_line=$(timeout $((LIMIT + 30)) "$load" --server "127.0.0.1:$auth_port" --secret "$secret" \
  --count "$COUNT" --parallel "$PARALLEL" --seconds "$LIMIT" --user-prefix bngkit-) || {
  echo "radius_auth_bench: radius_auth_load failed: $bngkit_line" >&2; exit 1; }
capture_stop
read -r bk_wire_p50 bk_wire_p99 <<<"$(wire_latency "$dir/bngkit.pcap" "$auth_port")"
field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }

# radclient: the same number of unique requests from files, PARALLEL at a time. Its rate falls
# with the file's length (measured here: 15k/s at 2000 requests, 4.2k/s at 20000), so it gets
# files of CHUNK requests, run one after the other: radclient at its best.
CHUNK=${CHUNK:-2000}
for ((i = 0; i < COUNT; i++)); do
  printf 'User-Name = "radclient-%d"\nUser-Password = "bench-pw"\nNAS-Port-Type = Ethernet\n\n' "$i" \
    >>"$dir/requests.$((i / CHUNK))"
done
capture_start "$dir/radclient.pcap"
rc_accepted=0
rc_lost=0
t0=$(date +%s.%N)
for file in "$dir"/requests.*; do
  rc_out=$(timeout $((LIMIT + 30)) radclient -s -q -p "$PARALLEL" -r 3 -t 3 -f "$file" \
    "127.0.0.1:$auth_port" auth "$secret" 2>&1) || true
  rc_accepted=$((rc_accepted + $(sed -n 's/^\s*Accepted *: *\([0-9]*\).*/\1/p' <<<"$rc_out" | head -1)))
  rc_lost=$((rc_lost + $(sed -n 's/^\s*Lost *: *\([0-9]*\).*/\1/p' <<<"$rc_out" | head -1)))
done
t1=$(date +%s.%N)
capture_stop
read -r rc_wire_p50 rc_wire_p99 <<<"$(wire_latency "$dir/radclient.pcap" "$auth_port")"
rc_seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
rc_rate=$(awk -v n="$rc_accepted" -v s="$rc_seconds" 'BEGIN { printf "%.0f", n / s }')

bk_rate=$(field rate "$bngkit_line")
echo "FreeRADIUS $(freeradius -v | sed -n 's/.*Version \([0-9.]*\).*/\1/p' | head -1) on 127.0.0.1:$auth_port," \
  "$COUNT unique PAP Access-Requests per client, $PARALLEL in flight"
printf '%-10s %10s %9s %8s %14s %14s %18s\n' client accepted seconds auth/s \
  "wire p50 ms" "wire p99 ms" "send→reply p50/p99"
printf '%-10s %10s %9s %8s %14s %14s %18s\n' bngkit "$(field accepted "$bngkit_line")" \
  "$(field seconds "$bngkit_line")" "$bk_rate" "$bk_wire_p50" "$bk_wire_p99" \
  "$(field p50_ms "$bngkit_line")/$(field p99_ms "$bngkit_line")"
printf '%-10s %10s %9s %8s %14s %14s %18s\n' radclient "$rc_accepted" "$rc_seconds" "$rc_rate" \
  "$rc_wire_p50" "$rc_wire_p99" "-"
echo "bngkit: retransmits=$(field retransmits "$bngkit_line") failed=$(field failed "$bngkit_line");" \
  "radclient: lost=$rc_lost (files of $CHUNK requests)"
awk -v a="$bk_rate" -v b="$rc_rate" -v c="$bk_wire_p50" -v d="$rc_wire_p50" -v e="$bk_wire_p99" \
  -v f="$rc_wire_p99" 'BEGIN {
    printf "ratio bngkit/radclient: auth/s %.2fx", (b > 0 ? a / b : 0)
    if (d + 0 > 0 && f + 0 > 0) printf ", wire p50 %.2fx, wire p99 %.2fx", c / d, e / f
    printf "\n" }'
