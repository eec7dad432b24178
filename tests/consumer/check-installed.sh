#!/usr/bin/env bash
# Installs a bngkit build tree into a scratch prefix, then proves that someone else can
# use it: a CMake project through find_package(bngkit CONFIG COMPONENTS ...) and a
# plain compiler line through pkg-config. Usage: check-installed.sh <build-dir> <work-dir>
set -euo pipefail
build=$1
work=$2
here=$(cd "$(dirname "$0")" && pwd)
prefix="$work/prefix"
rm -rf "$work"
mkdir -p "$work"

cmake --install "$build" --prefix "$prefix" >"$work/install.log"

# 1. CMake consumer.
cmake -S "$here" -B "$work/cmake-build" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" >"$work/configure.log"
cmake --build "$work/cmake-build" >"$work/build.log"
LD_LIBRARY_PATH="$prefix/lib" "$work/cmake-build/consumer"

# 1b. An example, built on its own against the installed package (it uses the installed
#     bngkit_add_bpf_skeleton() to embed its kernel program).
examples="$here/../../examples"
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
