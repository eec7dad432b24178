// Helpers for running the udp-fanout binary in tests: scratch directories, files,
// running the CLI to completion, and reading one sample out of a Prometheus scrape.
#pragma once

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "netns.hpp"

namespace fotest {

using namespace std::chrono_literals;

// A scratch directory removed on destruction.
struct TempDir {
  std::filesystem::path path;
  TempDir() : path(std::filesystem::temp_directory_path() / ("fanout-test-" + unique_tag())) {
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string write(const std::string& name, const std::string& text) const {
    const auto p = path / name;
    std::ofstream(p) << text;
    return p.string();
  }
};

inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs udp-fanout with `args` to completion; exit status and output.
inline std::pair<int, std::string> run_cli(const TempDir& dir,
                                           const std::vector<std::string>& args) {
  std::vector<std::string> argv{UDP_FANOUT_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  const auto log = (dir.path / "cli.log").string();
  auto child = spawn("", argv, log);
  const int rc = child.wait_exit(10s);
  return {rc, slurp(log)};
}

// The value of the sample `series` (name{labels} exactly as exposed) in a scrape.
inline std::optional<double> sample(const std::string& text, const std::string& series) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return std::nullopt;
}

}  // namespace fotest
