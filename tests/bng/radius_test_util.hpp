// Test helpers for the RADIUS codec: reading the .hex fixtures under tests/fixtures/radius.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <bngkit/bng/radius/value.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace bngkit::bng::radius::test {

/// tests/fixtures/radius, set by CMake.
inline std::filesystem::path fixture_dir() { return BNGKIT_RADIUS_FIXTURES; }

/// Bytes of tests/fixtures/radius/<name>.hex: '#' lines are comments, the rest is hex.
inline std::vector<std::uint8_t> fixture(const std::string& name) {
  std::ifstream in(fixture_dir() / (name + ".hex"));
  EXPECT_TRUE(in.good()) << "missing fixture " << name;
  std::string line;
  std::string hex;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] == '#') continue;
    hex += line + "\n";
  }
  auto bytes = from_hex(hex);
  EXPECT_TRUE(bytes.ok()) << name << ": " << bytes.error().message();
  return bytes.ok() ? *bytes : std::vector<std::uint8_t>{};
}

/// Names (without .hex) of every packet fixture.
inline std::vector<std::string> all_fixtures() {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(fixture_dir())) {
    if (entry.path().extension() == ".hex") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace bngkit::bng::radius::test
