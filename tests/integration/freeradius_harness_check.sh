#!/usr/bin/env bash
# tests/integration/lib/freeradius.sh works as the end-to-end tests use it: FreeRADIUS started
# inside a network namespace on chosen ports, answering radclient there (Accept with the
# caller's users file, accounting into the detail file), stopped by PID with nothing left.
# Needs root (namespaces; Debian's raddb is readable by root and group freerad only): exit 77.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/integration/lib/freeradius.sh
source "$here/lib/freeradius.sh"
if [[ $(id -u) -ne 0 ]]; then echo "freeradius_harness_check: needs root" >&2; exit 77; fi
if ! fr_available; then echo "freeradius_harness_check: FreeRADIUS not installed" >&2; exit 77; fi

ns="frh$$"
dir=$(mktemp -d /tmp/bngkit-frh-XXXXXX)
cleanup() {
  fr_stop "$dir"
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "freeradius_harness_check: $*" >&2; [[ -f $(fr_log "$dir") ]] && tail -20 "$(fr_log "$dir")" >&2; exit 1; }

ip netns add "$ns"
ip -n "$ns" link set lo up
printf 'carol Cleartext-Password := "c-pw"\n\tFramed-IP-Address = 100.64.1.1\n' >"$dir/users"
printf 'client any {\n\tipaddr = 127.0.0.0/8\n\tsecret = harness-secret\n}\n' >"$dir/clients.conf"
fr_start "$dir" 18120 18130 "$ns" || fail "fr_start failed"
pid=$(cat "$dir/radiusd.pid")
[[ -z $(ss -Hlun "sport = :18120") ]] || fail "listening in the root namespace, not in $ns"

out=$(echo 'User-Name = "carol", User-Password = "c-pw"' |
  ip netns exec "$ns" radclient -x -r 1 -t 2 127.0.0.1:18120 auth harness-secret) || fail "auth: $out"
grep -q "Access-Accept" <<<"$out" || fail "no Access-Accept: $out"
grep -q "Framed-IP-Address = 100.64.1.1" <<<"$out" || fail "users file not used: $out"
out=$(echo 'User-Name = "carol", Acct-Status-Type = Start, Acct-Session-Id = "h-1", Acct-Input-Octets = 77' |
  ip netns exec "$ns" radclient -x -r 1 -t 2 127.0.0.1:18130 acct harness-secret) || fail "acct: $out"
detail=$(fr_detail_file "$dir" 127.0.0.1)
grep -q 'Acct-Session-Id = "h-1"' "$detail" || fail "no record in $detail"
grep -q 'Acct-Input-Octets = 77' "$detail" || fail "counters missing from $detail"

fr_stop "$dir"
[[ ! -e /proc/$pid ]] || [[ $(awk '/^State:/ {print $2}' "/proc/$pid/status" 2>/dev/null) == Z ]] ||
  fail "radiusd $pid still running after fr_stop"
[[ ! -f $dir/radiusd.pid ]] || fail "pid file left behind"
echo "freeradius_harness_check: ok"
