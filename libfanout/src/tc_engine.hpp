// The TC eBPF engine's factory (private): fails with a reason when TC cannot be used,
// so the fanout falls back to userspace and logs why.
#pragma once

#include <bngkit/common/result.hpp>
#include <bngkit/fanout/config.hpp>
#include <bngkit/fanout/engine.hpp>

#include <memory>

namespace bngkit::fanout {

/// The TC clsact ingress engine for `listener` (not started).
[[nodiscard]] Result<std::unique_ptr<Engine>> make_tc_engine(const ListenerConfig& listener,
                                                             const TcConfig& tc);

}  // namespace bngkit::fanout
