// Routing libbpf's own messages (warnings, info, debug) into the application's logger
// instead of stderr.
#pragma once

#include <bngkit/ebpfkit/export.hpp>
#include <functional>
#include <string_view>

namespace bngkit::ebpfkit {

/// libbpf message levels.
enum class LibbpfLevel { warn, info, debug };

/// Receives one libbpf message (without its trailing newline).
using LibbpfLogger = std::function<void(LibbpfLevel, std::string_view)>;

/// Sends libbpf's messages at `max_level` and more severe to `logger` (process-wide;
/// libbpf has one print callback). An empty logger silences libbpf. Thread-safe.
BNGKIT_EBPFKIT_EXPORT void set_libbpf_logger(LibbpfLogger logger,
                                             LibbpfLevel max_level = LibbpfLevel::info);
/// Back to libbpf's default: warnings and info to stderr.
BNGKIT_EBPFKIT_EXPORT void reset_libbpf_logger();

}  // namespace bngkit::ebpfkit
