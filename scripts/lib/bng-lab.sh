# bng-lab.sh — a subscriber lab in network namespaces, shared by the demo and the
# integration tests: a BNG namespace and a client namespace joined by a veth pair, the
# bng daemon on one end, real DHCP clients on the other. Source it; call lab_up first.
# Everything is named after LAB (default bnglab$$) and removed by lab_down.

LAB=${LAB:-bnglab$$}
LAB_DIR=${LAB_DIR:-$(mktemp -d "/tmp/${LAB}.XXXXXX")}
LAB_SRV=${LAB}-s           # namespace and interface names (interface names <= 15 chars)
LAB_CLI=${LAB}-c
LAB_BNG_PID=""

lab_log() { printf '%s\n' "[$LAB] $*" >&2; }

# lab_up: namespaces, veth, server address 10.0.1.1/24, checksum offload off on the
# client side (veth leaves UDP sums partial; the fast path checks them).
lab_up() {
  ip netns add "$LAB_SRV"
  ip netns add "$LAB_CLI"
  ip link add "$LAB_SRV" type veth peer name "$LAB_CLI"
  ip link set "$LAB_SRV" netns "$LAB_SRV"
  ip link set "$LAB_CLI" netns "$LAB_CLI"
  ip -n "$LAB_SRV" link set lo up
  ip -n "$LAB_CLI" link set lo up
  ip -n "$LAB_SRV" addr add 10.0.1.1/24 dev "$LAB_SRV"
  ip -n "$LAB_SRV" link set "$LAB_SRV" up
  ip -n "$LAB_CLI" link set "$LAB_CLI" up
  ip netns exec "$LAB_CLI" ethtool -K "$LAB_CLI" tx off rx off >/dev/null
  ip netns exec "$LAB_SRV" ethtool -K "$LAB_SRV" tx off rx off >/dev/null
  # dhclient rewrites resolv.conf: give the client namespace its own.
  mkdir -p "/etc/netns/$LAB_CLI"
  : >"/etc/netns/$LAB_CLI/resolv.conf"
}

lab_down() {
  lab_stop_bng
  ip netns pids "$LAB_CLI" 2>/dev/null | xargs -r kill 2>/dev/null || true
  ip netns del "$LAB_CLI" 2>/dev/null || true
  ip netns del "$LAB_SRV" 2>/dev/null || true
  rm -rf "/etc/netns/$LAB_CLI" "$LAB_DIR"
}

# The lab's local pool; none when LAB_POOLS=none (pools from Nexus only).
lab_pools_toml() {
  [[ ${LAB_POOLS:-} == none ]] && return 0
  cat <<TOML
[[pools]]
id = "residential-ipv4"
network = "${LAB_POOL_NETWORK:-10.0.1.0/24}"
gateway = "10.0.1.1"
dns = ["10.0.1.1"]
range = "${LAB_POOL_RANGE:-10.0.1.100-10.0.1.199}"
TOML
}

# lab_config FILE [extra TOML]: the embedded default bng config for this lab.
# Env: LAB_POOL_NETWORK, LAB_POOL_RANGE, LAB_LEASE_TIME, LAB_RENEWAL_TIME, LAB_REBINDING_TIME,
# LAB_POOLS=none (no [[pools]]: with [nexus], the pool comes from Nexus).
lab_config() {
  local file=$1
  cat >"$file" <<TOML
[olt]
id = "$LAB"
name = "bngkit lab"

[interfaces]
subscriber = "$LAB_SRV"

[dhcp]
pool_id = "residential-ipv4"
lease_time = ${LAB_LEASE_TIME:-20}
renewal_time = ${LAB_RENEWAL_TIME:-10}
rebinding_time = ${LAB_REBINDING_TIME:-17}

$(lab_pools_toml)

[fastpath]
mode = "generic"
pin_path = ""

[storage]
lease_db = "$LAB_DIR/leases.db"
session_db = "$LAB_DIR/sessions.db"

[api]
bind = "127.0.0.1"
port = 8080

[metrics]
port = 9090

[log]
level = "info"
TOML
  if [[ $# -gt 1 ]]; then printf '%s\n' "$2" >>"$file"; fi
  chmod 0640 "$file"  # it may hold secrets inline: bng refuses a world-readable one
}

# lab_radius_toml AUTH_PORT ACCT_PORT: a [radius] section (authorisation and accounting on)
# for a FreeRADIUS on 127.0.0.1 in the BNG namespace with tests/integration/lib/freeradius.sh's
# default client secret; NAS-Identifier is $LAB. Pass it to lab_config as the extra TOML.
lab_radius_toml() {
  cat <<TOML
[radius]
timeout = "3s"
retries = 1
dead_time = "5s"
nas_identifier = "$LAB"
[[radius.servers]]
host = "127.0.0.1"
port = $1
accounting_port = $2
secret = "testing123"
TOML
}

# lab_start_bng BNG_BINARY CONFIG: starts the daemon in the BNG namespace, waits for ready.
lab_start_bng() {
  local bng=$1 config=$2
  ip netns exec "$LAB_SRV" "$bng" run --config "$config" >>"$LAB_DIR/bng.log" 2>&1 &
  LAB_BNG_PID=$!
  for _ in $(seq 1 50); do
    if lab_api /health/ready >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$LAB_BNG_PID" 2>/dev/null; then
      lab_log "bng exited during start-up:"; cat "$LAB_DIR/bng.log" >&2; return 1
    fi
    sleep 0.1
  done
  lab_log "bng did not become ready:"; cat "$LAB_DIR/bng.log" >&2
  return 1
}

# lab_stop_bng [SIGNAL]: stops the daemon we started (by PID) and waits for it.
lab_stop_bng() {
  local sig=${1:-TERM}
  if [[ -n "$LAB_BNG_PID" ]] && kill -0 "$LAB_BNG_PID" 2>/dev/null; then
    kill "-$sig" "$LAB_BNG_PID"
    wait "$LAB_BNG_PID" 2>/dev/null || true
  fi
  LAB_BNG_PID=""
}

# lab_api PATH [curl args...]: the daemon's API (inside the BNG namespace).
lab_api() {
  local path=$1; shift
  ip netns exec "$LAB_SRV" curl -sf --max-time 2 "$@" "http://127.0.0.1:8080$path"
}

# lab_metric NAME_WITH_LABELS: one sample's value from /metrics (0 when absent).
lab_metric() {
  local v
  v=$(ip netns exec "$LAB_SRV" curl -sf --max-time 2 http://127.0.0.1:9090/metrics |
    awk -v m="$1" '$1 == m { print $2 }')
  echo "${v:-0}"
}

# The udhcpc event script: applies the address and appends
# "<bound|renew> <ip> <lease seconds> <dns...>" lines to $LAB_EVENTS.
lab_udhcpc_script() {
  local script="$LAB_DIR/udhcpc.script"
  cat >"$script" <<'SH'
#!/bin/sh
case "$1" in
  bound|renew) ip addr replace "$ip/$mask" dev "$interface"; echo "$1 $ip $lease $dns" >>"$LAB_EVENTS" ;;
  deconfig) ip addr flush dev "$interface" ;;
esac
SH
  chmod +x "$script"
}

# lab_udhcpc [extra args]: one DORA with busybox udhcpc; prints the address obtained.
# $LAB_DIR/udhcpc.events keeps "<bound|renew> <ip> <lease seconds> <dns...>" lines.
# Not for releasing: with -q, udhcpc -R quits before it counts as bound and sends no
# DHCPRELEASE (BusyBox 1.35); lab_udhcpc_release does.
lab_udhcpc() {
  lab_udhcpc_script
  : >"$LAB_DIR/udhcpc.events"
  LAB_EVENTS="$LAB_DIR/udhcpc.events" timeout 30 ip netns exec "$LAB_CLI" \
    udhcpc -f -q -n -t 5 -T 1 -i "$LAB_CLI" -s "$LAB_DIR/udhcpc.script" "$@" >>"$LAB_DIR/udhcpc.log" 2>&1
  awk '$1 == "bound" || $1 == "renew" { ip = $2 } END { print ip }' "$LAB_DIR/udhcpc.events"
}

# lab_udhcpc_release SIGNAL: udhcpc -R in the foreground until it is bound, then SIGNAL
# (TERM: exit, releasing on the way out; USR2: release and stay, then TERM ends it);
# prints the address it held, nothing when it got none. Its output goes to
# $LAB_DIR/udhcpc.log ("sending release" when the DHCPRELEASE left).
lab_udhcpc_release() {
  local sig=$1 pid ip released
  lab_udhcpc_script
  released=$(grep -c 'entering released state' "$LAB_DIR/udhcpc.log" 2>/dev/null || true)
  : >"$LAB_DIR/udhcpc.events"
  LAB_EVENTS="$LAB_DIR/udhcpc.events" ip netns exec "$LAB_CLI" \
    udhcpc -f -R -t 5 -T 1 -i "$LAB_CLI" -s "$LAB_DIR/udhcpc.script" >>"$LAB_DIR/udhcpc.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 150); do
    grep -q '^bound' "$LAB_DIR/udhcpc.events" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  ip=$(awk '$1 == "bound" { ip = $2 } END { print ip }' "$LAB_DIR/udhcpc.events")
  kill "-$sig" "$pid" 2>/dev/null || true
  if [[ $sig == USR2 ]]; then
    # It stays, released, until TERM (which does not release a second time).
    for _ in $(seq 1 50); do
      (($(grep -c 'entering released state' "$LAB_DIR/udhcpc.log") > ${released:-0})) && break
      sleep 0.1
    done
    kill "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  echo "$ip"
}
