// Runs the libFuzzer entry points (fuzz/dhcp_parse_fuzz.cpp, fuzz/dhcp_frame_fuzz.cpp) as a
// plain test: over the fixtures, the committed fuzz corpora, every prefix of each, and seeded
// mutations. A failed property aborts the test binary with the check that failed.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

#include "dhcp_fixtures.hpp"

namespace bngkit::fuzz {
int dhcp_parse_one(const std::uint8_t* data, std::size_t size);
int dhcp_frame_one(const std::uint8_t* data, std::size_t size);
}  // namespace bngkit::fuzz

namespace bngkit::bng::dhcp {
namespace {

std::vector<Bytes> corpus(const std::filesystem::path& dir) {
  std::vector<Bytes> out;
  if (!std::filesystem::exists(dir)) return out;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    out.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return out;
}

void run_all(int (*one)(const std::uint8_t*, std::size_t), const std::vector<Bytes>& seeds,
             std::uint32_t seed) {
  std::mt19937 rng(seed);
  for (const Bytes& input : seeds) {
    one(input.data(), input.size());
    for (std::size_t len = 0; len < input.size(); ++len) one(input.data(), len);
    for (int round = 0; round < 500; ++round) {
      Bytes m = input;
      for (int e = 1 + static_cast<int>(rng() % 8); e > 0 && !m.empty(); --e) {
        const std::size_t at = rng() % m.size();
        switch (rng() % 3) {
          case 0:
            m[at] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
            break;
          case 1:
            m[at] = static_cast<std::uint8_t>(rng() % 4 == 0 ? 0xff : rng());
            break;
          default:
            m.resize(at);
        }
      }
      one(m.data(), m.size());
    }
  }
}

TEST(DhcpFuzzCorpus, ParserPropertiesHoldOnFixturesAndMutations) {
  std::vector<Bytes> seeds = corpus(BNGKIT_DHCP_FUZZ_CORPUS);
  ASSERT_GE(seeds.size(), 10u) << "fuzz/dhcp_parse_corpus is missing";
  for (const std::string& name : testing::fixture_names()) {
    seeds.push_back(testing::load_payload(name));
  }
  run_all(&bngkit::fuzz::dhcp_parse_one, seeds, 1);
}

TEST(DhcpFuzzCorpus, FramePropertiesHoldOnFixturesAndMutations) {
  std::vector<Bytes> seeds;
  for (const std::string& name : testing::fixture_names()) {
    if (name.ends_with(".frame.hex")) seeds.push_back(testing::load_hex(name));
  }
  ASSERT_GE(seeds.size(), 10u);
  run_all(&bngkit::fuzz::dhcp_frame_one, seeds, 2);
}

}  // namespace
}  // namespace bngkit::bng::dhcp
