// fanout.toml: the daemon's configuration (keys from shared/CONFIG.md plus what the
// features need), read into libfanout's FanoutConfig and checked as a whole, every
// problem named by key.
#pragma once

#include <bngkit/common/result.hpp>
#include <bngkit/fanout/config.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace bngkit::fanoutd {

/// [metrics]: where /metrics and the health endpoints are served.
struct MetricsConfig {
  bool enabled = true;  ///< false: no /metrics (health endpoints stay)
  std::string bind_address = "0.0.0.0";
  std::uint16_t port = 9090;
  std::string path = "/metrics";
};

/// [log].
struct LogConfig {
  std::string format = "text";  ///< "text" or "json"
  std::string level = "info";
};

/// The whole file.
struct Config {
  fanout::FanoutConfig fanout;
  MetricsConfig metrics;
  LogConfig log;
};

/// Parses fanout.toml text. On failure the error's context lists every problem, one
/// per line, each starting with its key ("listeners[0].bind: ...").
[[nodiscard]] Result<Config> parse_config(std::string_view toml_text,
                                          std::string_view source_name = "fanout.toml");
/// Reads and parses a file.
[[nodiscard]] Result<Config> load_config(const std::string& path);

}  // namespace bngkit::fanoutd
