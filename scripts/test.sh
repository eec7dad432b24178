#!/usr/bin/env bash
# Installs what bngkit needs, builds it and runs every test suite: unprivileged tests in
# parallel, then the privileged ones (real BPF, XDP/TC, network namespaces) one at a time,
# then a short run of each libFuzzer target (a clang build beside the main one).
# Usage: scripts/test.sh            (as root for the privileged suites)
# Env:   BNGKIT_BUILD_DIR (default ./build), BNGKIT_JOBS (default nproc)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BNGKIT_BUILD_DIR:-$root/build}
jobs=${BNGKIT_JOBS:-$(nproc)}

"$root/scripts/install-deps.sh"

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBNGKIT_WERROR=ON
cmake --build "$build" -j "$jobs"

if [[ $(id -u) -ne 0 ]]; then
  echo "test.sh: not root: privileged tests will skip themselves (run as root to run them)"
elif ! mountpoint -q /sys/fs/bpf; then
  # Pinning tests need bpffs where systemd would have mounted it.
  mount -t bpf bpf /sys/fs/bpf
fi
# Namespace/timing tests share 2 cores with everything else: a failure gets one rerun.
ctest --test-dir "$build" --output-on-failure --timeout 600 -j "$jobs" -LE privileged --repeat until-pass:2
ctest --test-dir "$build" --output-on-failure --timeout 600 -L privileged --repeat until-pass:2

# The wire-codec fuzzers (libFuzzer, clang, ASan+UBSan): a short run of each from its corpus.
cmake -S "$root" -B "$build-fuzz" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DBNGKIT_FUZZ=ON -DBNGKIT_FUZZ_SECONDS=10 \
  -DBNGKIT_BUILD_TESTS=OFF -DBNGKIT_BUILD_BENCH=OFF -DBNGKIT_BUILD_APPS=OFF -DBNGKIT_BUILD_EXAMPLES=OFF
cmake --build "$build-fuzz" -j "$jobs" --target dhcp_parse_fuzz dhcp_frame_fuzz radius_parse_fuzz
ctest --test-dir "$build-fuzz" --output-on-failure -L fuzz
