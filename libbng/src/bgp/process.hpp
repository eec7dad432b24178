// Runs a program to completion with a deadline and captures what it prints. Used for
// vtysh; private to libbng.
#pragma once

#include <bngkit/common/result.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace bngkit::bng::bgp {

struct ProcessOutput {
  int exit_code = 0;  ///< the exit status; 128 + signal when killed by one
  std::string out;    ///< standard output
  std::string err;    ///< standard error
};

/// Spawns argv[0] (searched in PATH) with `argv`, no stdin, and waits for it, at most
/// `timeout`: a program still running then is killed (SIGKILL) and reaped, and the result
/// is a timed_out error. A program that cannot be started is an error too; a non-zero exit
/// is not (the caller decides what it means).
[[nodiscard]] Result<ProcessOutput> run_process(const std::vector<std::string>& argv,
                                                std::chrono::milliseconds timeout);

}  // namespace bngkit::bng::bgp
