// The embedded test BPF objects (bpftool skeletons), opened the way an integrator would.
#include "test_util.hpp"

#include "ebpfkit_bad.skel.h"
#include "ebpfkit_test.skel.h"

namespace ektest {

bngkit::Result<bngkit::ebpfkit::Object> open_test_object(
    const bngkit::ebpfkit::ObjectOptions& opts) {
  return BNGKIT_EBPFKIT_OPEN_SKELETON(ebpfkit_test, opts);
}

bngkit::Result<bngkit::ebpfkit::Object> open_bad_object(
    const bngkit::ebpfkit::ObjectOptions& opts) {
  return BNGKIT_EBPFKIT_OPEN_SKELETON(ebpfkit_bad, opts);
}

std::span<const std::byte> test_object_elf() { return BNGKIT_EBPFKIT_SKELETON_ELF(ebpfkit_test); }

}  // namespace ektest
