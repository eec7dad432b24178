// The embedded test BPF objects (bpftool skeletons), opened the way an integrator would.
#include "ebpfkit_bad.skel.h"
#include "ebpfkit_test.skel.h"
#include "netns_util.hpp"
#include "test_util.hpp"

namespace ektest {

bngkit::Result<bngkit::ebpfkit::Object> open_test_object(
    const bngkit::ebpfkit::ObjectOptions& opts) {
  if (!opts.pin_root.empty() || !have_bpf_privileges()) {
    return BNGKIT_EBPFKIT_OPEN_SKELETON(ebpfkit_test, opts);
  }
  // The object declares a map pinned by name: keep it out of the shared /sys/fs/bpf in
  // a per-process bpffs directory that is removed at exit.
  static BpffsDir pins;
  bngkit::ebpfkit::ObjectOptions o = opts;
  o.pin_root = pins.path;
  return BNGKIT_EBPFKIT_OPEN_SKELETON(ebpfkit_test, o);
}

bngkit::Result<bngkit::ebpfkit::Object> open_bad_object(
    const bngkit::ebpfkit::ObjectOptions& opts) {
  return BNGKIT_EBPFKIT_OPEN_SKELETON(ebpfkit_bad, opts);
}

std::span<const std::byte> test_object_elf() { return BNGKIT_EBPFKIT_SKELETON_ELF(ebpfkit_test); }

}  // namespace ektest
