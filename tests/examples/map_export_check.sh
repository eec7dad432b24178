#!/usr/bin/env bash
# Runs examples/map-export against kernel maps made with bpftool: a per-CPU array (the
# exported value is the per-CPU values summed over every possible CPU) and a hash map, by
# pin and by name; the output must be what was written and valid for promtool.
# Usage: map_export_check.sh <map-export binary>
set -euo pipefail
bin=$1
if [[ $(id -u) -ne 0 ]]; then echo "SKIP: needs root (BPF maps)"; exit 77; fi
command -v bpftool >/dev/null || { echo "SKIP: no bpftool"; exit 77; }
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
pins="/sys/fs/bpf/mapexp_$$"
cleanup() { rm -rf "$pins"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
mkdir -p "$pins"
name="mx_$$"   # unique among the maps others load meanwhile (<= 15 characters)

# percpu_array: 2 entries of two u64 words; bpftool writes the value on every CPU.
bpftool map create "$pins/pcpu" type percpu_array key 4 value 16 entries 2 name "$name"
bpftool map update pinned "$pins/pcpu" key 1 0 0 0 value 7 0 0 0 0 0 0 0 3 0 0 0 0 0 0 0
bpftool map create "$pins/hash" type hash key 4 value 8 entries 8 name "${name}h"
bpftool map update pinned "$pins/hash" key 0xc0 0xa8 0 1 value 42 0 0 0 0 0 0 0
cpus=$(/usr/bin/python3 -c 'n = 0
for p in open("/sys/devices/system/cpu/possible").read().strip().split(","):
    a, _, b = p.partition("-")
    n += int(b or a) - int(a) + 1
print(n)')

out=$("$bin" --name "$name" --pinned "$pins/hash")
echo "$out"
grep -qx "bpf_map_value{map=\"$name\",id=\"[0-9]*\",key=\"1\",word=\"0\"} $((7 * cpus))" <<<"$out" \
  || fail "word 0 of key 1 is not 7 x $cpus CPUs"
grep -qx "bpf_map_value{map=\"$name\",id=\"[0-9]*\",key=\"1\",word=\"1\"} $((3 * cpus))" <<<"$out" \
  || fail "word 1 of key 1 is not 3 x $cpus CPUs"
grep -qx "bpf_map_value{map=\"$name\",id=\"[0-9]*\",key=\"0\",word=\"0\"} 0" <<<"$out" \
  || fail "key 0 of the array is not 0"
grep -qx "bpf_map_value{map=\"${name}h\",id=\"[0-9]*\",key=\"0xc0a80001\",word=\"0\"} 42" <<<"$out" \
  || fail "hash key 192.168.0.1 is not 42"
grep -qx "bpf_map_entries{map=\"${name}h\",id=\"[0-9]*\"} 1" <<<"$out" || fail "hash entries"
grep -qx "bpf_map_max_entries{map=\"${name}h\",id=\"[0-9]*\"} 8" <<<"$out" || fail "hash capacity"
if command -v promtool >/dev/null; then
  promtool check metrics <<<"$out" || fail "promtool rejects the output"
fi
# A bad pin is an error naming it.
if err=$("$bin" --pinned "$pins/missing" 2>&1); then fail "a missing pin was accepted"; fi
grep -q "$pins/missing" <<<"$err" || fail "error does not name the path: $err"
echo "example.map_export: ok"
