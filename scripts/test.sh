#!/usr/bin/env bash
# Installs what bngkit needs, builds it and runs every test suite: unprivileged tests in
# parallel, then the privileged ones (real BPF, XDP/TC, network namespaces) one at a time,
# then, in a clang build beside the main one with ASan+UBSan everywhere, a short run of each
# libFuzzer target and the unprivileged unit suites.
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

# One clang build with ASan+UBSan in every target (BNGKIT_FUZZ implies BNGKIT_SANITIZE=address,undefined)
# holds the libFuzzer targets and a sanitized copy of the unprivileged unit tests; it also
# keeps the code warning-free under clang, as the main build does under gcc.
cmake -S "$root" -B "$build-fuzz" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBNGKIT_WERROR=ON \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DBNGKIT_FUZZ=ON -DBNGKIT_FUZZ_SECONDS=10 \
  -DBNGKIT_BUILD_TESTS=ON -DBNGKIT_BUILD_BENCH=OFF -DBNGKIT_BUILD_APPS=ON -DBNGKIT_BUILD_EXAMPLES=OFF
fuzzers=(dhcp_parse_fuzz dhcp_frame_fuzz radius_parse_fuzz config_parse_fuzz http_request_fuzz)
# Unit suites run under the sanitizers: the codecs, pools, leases, slow path, sessions, RADIUS
# client, Nexus model/store/API, ops and fanout config/selection, and the fuzz corpora. Left
# out: privileged suites (BPF, namespaces: they run above), process-level daemon tests and
# replication/cluster tests (minutes under ASan), which the main build covers. Measured with a
# cold ccache: ~15.5 CPU-minutes to build (about 8 min on 2 cores), ~35 s to run the suites.
sanitized=(ops/ops_tests bng/bng_dhcp_codec_tests bng/bng_radius_codec_tests bng/bng_pool_tests
  bng/bng_lease_tests bng/bng_slowpath_tests bng/bng_session_tests bng/bng_radius_client_tests
  nexus/nexus_clset_test nexus/nexus_ip_test nexus/nexus_store_test nexus/nexus_model_test
  nexus/nexus_api_test fanout/fanout_unit_tests fuzz/config_fuzz_corpus_test fuzz/http_fuzz_corpus_test)
cmake --build "$build-fuzz" -j "$jobs" --target "${fuzzers[@]}" "${sanitized[@]##*/}"
ctest --test-dir "$build-fuzz" --output-on-failure -L fuzz
for t in "${sanitized[@]}"; do
  echo "test.sh: $t under ASan+UBSan"
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 "$build-fuzz/tests/$t" --gtest_brief=1
done
