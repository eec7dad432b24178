#!/usr/bin/env bash
# Builds bngkit as it is packaged and installs it into a scratch prefix, then proves that
# someone else can use it: CMake projects through find_package(bngkit CONFIG COMPONENTS ...)
# (the consumer, Conan's test_package, the examples), a plain compiler line through
# pkg-config, every header on its own, and conanfile.py against what was installed.
# Usage: check-installed.sh <source-dir> <work-dir>
set -euo pipefail
src=$(cd "$1" && pwd)
work=$2
here=$(cd "$(dirname "$0")" && pwd)
prefix="$work/prefix"
# The package build is kept between runs (incremental); everything else starts afresh.
mkdir -p "$work"
find "$work" -mindepth 1 -maxdepth 1 ! -name package-build -exec rm -rf {} +

# 0. The packaged build: the same cache options file conanfile.py configures with. `-C` only
#    seeds a new cache, so a kept build whose options file changed starts afresh.
options="$src/cmake/package-options.cmake"
stamp="$work/package-build/package-options.sha256"
if [[ ! -f $stamp ]] || ! sha256sum --status -c "$stamp" 2>/dev/null; then
  rm -rf "$work/package-build"
  mkdir -p "$work/package-build"
fi
cmake -S "$src" -B "$work/package-build" -G Ninja -C "$options" >"$work/package-configure.log"
cmake --build "$work/package-build" >"$work/package-build.log" \
  || { tail -30 "$work/package-build.log"; exit 1; }
sha256sum "$options" >"$stamp"
cmake --install "$work/package-build" --prefix "$prefix" >"$work/install.log"
test ! -e "$prefix/bin" || { echo "the package installs programs: $(ls "$prefix/bin")"; exit 1; }

# 1. CMake consumer.
cmake -S "$here" -B "$work/cmake-build" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" >"$work/configure.log"
cmake --build "$work/cmake-build" >"$work/build.log"
LD_LIBRARY_PATH="$prefix/lib" "$work/cmake-build/consumer"

# 1b. An example, built on its own against the installed package (it uses the installed
#     bngkit_add_bpf_skeleton() to embed its kernel program).
examples="$src/examples"
cmake -S "$examples/xdp-counter" -B "$work/xdp-counter" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" >"$work/example-configure.log"
cmake --build "$work/xdp-counter" >"$work/example-build.log"
test -x "$work/xdp-counter/xdp-counter"
# 1c. The firmware example: the codec component alone (no libbpf, no Boost), and it runs.
cmake -S "$examples/dhcp-codec" -B "$work/dhcp-codec" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" >"$work/codec-configure.log"
cmake --build "$work/dhcp-codec" >"$work/codec-build.log"
LD_LIBRARY_PATH="$prefix/lib" "$work/dhcp-codec/dhcp-codec" >"$work/codec-run.log"
# 1d. The fast-path example, against the bng component (run by example.subscriber_cache).
cmake -S "$examples/subscriber-cache" -B "$work/subscriber-cache" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" >"$work/cache-configure.log"
cmake --build "$work/subscriber-cache" >"$work/cache-build.log"
test -x "$work/subscriber-cache/subscriber-cache"

# 1e. The other examples: map export (ebpfkit), Nexus client (nexus + Boost.Beast), and the
#     embedded fanout listener, which runs here too (loopback, no privileges).
for ex in map-export nexus-client fanout-listener; do
  cmake -S "$examples/$ex" -B "$work/$ex" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" >"$work/$ex-configure.log"
  cmake --build "$work/$ex" >"$work/$ex-build.log"
  test -x "$work/$ex/$ex"
done
LD_LIBRARY_PATH="$prefix/lib" "$work/fanout-listener/fanout-listener" 50 >"$work/fanout-listener-run.log"

# 1f. Conan's test_package project (Conan itself is not available here), then the recipe's
#     components and build path against this tree.
cmake -S "$src/test_package" -B "$work/test_package" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" >"$work/test-package-configure.log"
cmake --build "$work/test_package" >"$work/test-package-build.log"
LD_LIBRARY_PATH="$prefix/lib" "$work/test_package/test_package"
/usr/bin/python3 "$here/conan_recipe_check.py" "$src" "$prefix" "$options"

# 2. pkg-config consumer, every installed component.
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
for pc in "$PKG_CONFIG_PATH"/bngkit-*.pc; do
  pkg-config --exists --print-errors "$(basename "$pc" .pc)"
done
# shellcheck disable=SC2046
c++ -std=c++20 "$here/main.cpp" -o "$work/pkgconfig-consumer" $(pkg-config --cflags --libs bngkit-ebpfkit bngkit-bng_codec)
LD_LIBRARY_PATH="$prefix/lib" "$work/pkgconfig-consumer"

# 3. Every installed header compiles on its own.
find "$prefix/include/bngkit" -name '*.hpp' | sort | while read -r h; do
  rel=${h#"$prefix/include/"}
  echo "#include <$rel>" | c++ -std=c++20 -fsyntax-only -I"$prefix/include" -x c++ - \
    || { echo "header does not compile on its own: $rel"; exit 1; }
done
echo "consumer: installed package works"
