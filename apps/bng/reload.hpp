// SIGHUP: what a running bng may take from a changed bng.toml, and what needs a restart.
// Live: pool options (DNS, lease time, T1/T2, probation), the log level/format, and the BGP
// speaker (local AS, router id, neighbours, host routes: FRR is reconciled to them). Every
// other key decides sockets, interfaces, files or address ownership: a reload that changes
// one is refused as a whole, so the daemon never runs half of two configurations.
#pragma once

#include <string>
#include <vector>

#include "config.hpp"

namespace bngkit::bngd {

/// The bng.toml sections (or pool fields) that differ between `running` and `next` and
/// cannot change without a restart; empty when `next` can be applied live.
std::vector<std::string> restart_needed(const Config& running, const Config& next);

}  // namespace bngkit::bngd
