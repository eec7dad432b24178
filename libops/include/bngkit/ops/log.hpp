// Structured logging set-up for the daemons: text for people, JSON lines for machines.
// Code logs through spdlog; this only decides the shape and the level.
#pragma once

#include <bngkit/common/result.hpp>
#include <bngkit/ops/export.hpp>

#include <string>
#include <string_view>

namespace bngkit::ops {

enum class LogFormat { text, json };

/// Parses "text"/"json".
BNGKIT_OPS_EXPORT Result<LogFormat> parse_log_format(std::string_view name);

/// Installs the default spdlog logger writing to stderr in `format` at `level`
/// ("trace", "debug", "info", "warn", "error"). Unknown level -> error.
BNGKIT_OPS_EXPORT Result<void> setup_logging(LogFormat format, std::string_view level, std::string name);

/// JSON-escapes a string (for the JSON formatter and for tests).
BNGKIT_OPS_EXPORT std::string json_escape(std::string_view in);

}  // namespace bngkit::ops
