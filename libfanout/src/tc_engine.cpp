// TC eBPF engine: comes with the kernel program in the next step; until then a tc_ebpf
// listener runs the userspace engine and says so.
#include "tc_engine.hpp"

namespace bngkit::fanout {

Result<std::unique_ptr<Engine>> make_tc_engine(const ListenerConfig&, const TcConfig&) {
  return make_error(std::errc::function_not_supported,
                    "this build of libfanout has no TC eBPF engine");
}

}  // namespace bngkit::fanout
