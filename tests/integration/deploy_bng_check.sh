#!/usr/bin/env bash
# deploy/bng is what operators install: its bng.toml must validate with this build, and its
# systemd unit must verify cleanly (systemd-analyze, any warning fails) and start the daemon
# the way it starts: validate then run with the same configuration, reload by SIGHUP.
# Usage: deploy_bng_check.sh <bng binary> <deploy/bng directory>
set -euo pipefail
bng=$(realpath "$1")
dir=$2
fail() { echo "FAIL: $*" >&2; exit 1; }

"$bng" validate --config "$dir/bng.toml" || fail "deploy/bng/bng.toml does not validate"

unit="$dir/bng.service"
config=$(sed -n 's|^ExecStart=/usr/sbin/bng run --config \(.*\)$|\1|p' "$unit")
[[ -n $config ]] || fail "ExecStart is not '/usr/sbin/bng run --config FILE'"
grep -qx "ExecStartPre=/usr/sbin/bng validate --config $config" "$unit" ||
  fail "no ExecStartPre validating $config before the start"
grep -qx 'ExecReload=/bin/kill -HUP $MAINPID' "$unit" || fail "reload is not SIGHUP"
grep -qx 'Type=notify' "$unit" || fail "bng notifies readiness: Type=notify"

if ! command -v systemd-analyze >/dev/null; then
  echo "SKIP: systemd-analyze not installed (Debian package systemd)"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The unit as installed, pointing at this build's binary.
sed "s|/usr/sbin/bng|$bng|g" "$unit" >"$work/bng.service"
out=$(systemd-analyze verify "$work/bng.service" 2>&1) || fail "systemd-analyze verify: $out"
# Only our unit's warnings count: verify also loads whatever units the machine has installed
# (Debian's freeradius.service, for one, warns about its own MemoryLimit=).
ours=$(grep -F "$work/bng.service" <<<"$out" || true)
[[ -z $ours ]] || fail "systemd-analyze verify warns: $ours"
echo "deploy/bng: config validates, unit verifies"
