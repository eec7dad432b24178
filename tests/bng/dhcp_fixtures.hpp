// Loads the DHCP hex fixtures of tests/fixtures/dhcp: "*.frame.hex" are Ethernet frames
// captured from real peers, "*.dhcp.hex" are DHCP payloads built by hand from RFC layouts.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <bngkit/bng/dhcp/frame.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <vector>

namespace bngkit::bng::dhcp::testing {

inline std::filesystem::path fixture_dir() { return BNGKIT_DHCP_FIXTURES; }

/// Hex text to bytes; '#' starts a comment that runs to the end of the line.
inline std::vector<std::uint8_t> parse_hex(const std::string& text) {
  std::vector<std::uint8_t> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    line = line.substr(0, line.find('#'));
    std::string digits;
    for (char c : line) {
      if (std::isxdigit(static_cast<unsigned char>(c))) digits.push_back(c);
    }
    EXPECT_EQ(digits.size() % 2, 0u) << "odd hex digit count in line: " << line;
    for (std::size_t i = 0; i + 1 < digits.size(); i += 2) {
      out.push_back(static_cast<std::uint8_t>(std::stoul(digits.substr(i, 2), nullptr, 16)));
    }
  }
  return out;
}

inline std::vector<std::uint8_t> load_hex(const std::string& name) {
  std::ifstream in(fixture_dir() / name);
  EXPECT_TRUE(in.good()) << "missing fixture " << name;
  std::stringstream text;
  text << in.rdbuf();
  return parse_hex(text.str());
}

/// The DHCP payload of a fixture: the UDP payload of a frame fixture, or the file itself.
inline std::vector<std::uint8_t> load_payload(const std::string& name) {
  auto bytes = load_hex(name);
  if (name.ends_with(".frame.hex")) {
    auto frame = parse_udp_frame(bytes);
    EXPECT_TRUE(frame.ok()) << name << ": " << frame.error().message();
    if (!frame) return {};
    return {frame->payload.begin(), frame->payload.end()};
  }
  return bytes;
}

/// Every fixture file name, sorted.
inline std::vector<std::string> fixture_names() {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(fixture_dir())) {
    const std::string name = entry.path().filename().string();
    if (name.ends_with(".hex")) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

inline std::vector<std::uint8_t> bytes_of(std::string_view s) {
  return std::vector<std::uint8_t>(s.begin(), s.end());
}

/// An optional view as bytes (empty optional -> std::nullopt), for EXPECT_EQ.
inline std::optional<std::vector<std::uint8_t>> copy_of(
    std::optional<std::span<const std::uint8_t>> view) {
  if (!view) return std::nullopt;
  return std::vector<std::uint8_t>(view->begin(), view->end());
}

}  // namespace bngkit::bng::dhcp::testing
