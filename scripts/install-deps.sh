#!/usr/bin/env bash
# Installs everything bngkit needs to build, test and run its demo, from Debian 12
# packages only. Idempotent: when every package is present it returns in about a second.
set -euo pipefail

# Build toolchain and libraries.
BUILD_PKGS=(
  build-essential cmake ninja-build ccache pkg-config git
  clang llvm libclang-rt-14-dev libbpf-dev bpftool linux-libc-dev
  libboost1.81-dev libboost-program-options1.81-dev libboost-json1.81-dev
  libfmt-dev libtomlplusplus-dev libspdlog-dev libsqlite3-dev libssl-dev prometheus-cpp-dev
  libsystemd-dev
  googletest libgtest-dev libgmock-dev libbenchmark-dev
)
# What the tests and the demo run: network tools and real peers.
RUNTIME_PKGS=(
  iproute2 ethtool iputils-ping procps curl
  udhcpc isc-dhcp-client dhcpcd-base python3-scapy
  kea-admin kea-dhcp4-server
  socat systemd
  prometheus                 # promtool: checks alert rules and /metrics in the tests
  tcpdump                    # radius_auth_bench.sh: request-to-reply latency on the wire
  freeradius-common freeradius freeradius-utils   # FreeRADIUS 3.2 + radclient: RADIUS client and DAE tests, radius_auth_bench
  python3-yaml               # the Kubernetes manifest check (tests/deploy)
  tshark                     # fault tests: which ACKs really left (tests/integration/bng_faults_e2e.sh)
  etcd-server etcd-client
  frr                        # zebra + bgpd: the BNG's route announcer and the upstream router in bng_bgp_e2e
)

missing=()
for p in "${BUILD_PKGS[@]}" "${RUNTIME_PKGS[@]}" "$@"; do
  # dpkg-query is fast and does not need the apt lists.
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
