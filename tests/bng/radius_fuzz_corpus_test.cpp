// Runs the RADIUS libFuzzer entry point (fuzz/radius_parse_fuzz.cpp) as a plain test: over the
// committed corpus, every prefix of each input, and seeded mutations. A broken property aborts
// the test binary naming the check that failed.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <random>

#include "radius_test_util.hpp"

namespace bngkit::fuzz {
int radius_parse_one(const std::uint8_t* data, std::size_t size);
}  // namespace bngkit::fuzz

namespace bngkit::bng::radius {
namespace {

using Bytes = std::vector<std::uint8_t>;

std::map<std::string, Bytes> corpus() {
  std::map<std::string, Bytes> out;
  for (const auto& entry : std::filesystem::directory_iterator(BNGKIT_RADIUS_FUZZ_CORPUS)) {
    std::ifstream in(entry.path(), std::ios::binary);
    out[entry.path().stem().string()] =
        Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return out;
}

TEST(RadiusFuzzCorpus, CorpusHoldsEveryFixture) {
  // The corpus is the fixtures in binary form; keep them in step.
  const auto seeds = corpus();
  for (const auto& name : test::all_fixtures()) {
    SCOPED_TRACE(name);
    auto it = seeds.find(name);
    ASSERT_NE(it, seeds.end()) << "fuzz/radius_parse_corpus/" << name << ".bin is missing";
    EXPECT_EQ(it->second, test::fixture(name));
  }
}

TEST(RadiusFuzzCorpus, ParserPropertiesHoldOnCorpusPrefixesAndMutations) {
  const auto seeds = corpus();
  ASSERT_GE(seeds.size(), 20u);
  std::mt19937 rng(3799);
  for (const auto& [name, input] : seeds) {
    SCOPED_TRACE(name);
    bngkit::fuzz::radius_parse_one(input.data(), input.size());
    for (std::size_t length = 0; length < input.size(); ++length) {
      bngkit::fuzz::radius_parse_one(input.data(), length);
    }
    for (int round = 0; round < 1000; ++round) {
      Bytes m = input;
      for (int e = 1 + static_cast<int>(rng() % 6); e > 0 && !m.empty(); --e) {
        const std::size_t at = rng() % m.size();
        switch (rng() % 5) {
          case 0:
            m[at] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
            break;
          case 1:
            m[at] = static_cast<std::uint8_t>(rng() % 4 == 0 ? 0xff : rng());
            break;
          case 2:
            m.resize(at);
            break;
          case 3:
            // Shrink the Length field so attributes fall outside it.
            if (m.size() >= 4) m[3] = static_cast<std::uint8_t>(m[3] - rng() % 8);
            break;
          default:
            m.insert(m.begin() + static_cast<std::ptrdiff_t>(at), static_cast<std::uint8_t>(rng()));
            if (m.size() >= 4) {  // keep Length in step, so the attribute walk sees it
              m[2] = static_cast<std::uint8_t>(m.size() >> 8);
              m[3] = static_cast<std::uint8_t>(m.size());
            }
            break;
        }
      }
      bngkit::fuzz::radius_parse_one(m.data(), m.size());
    }
  }
}

TEST(RadiusFuzzCorpus, HandlesEdgeInputs) {
  const Bytes empty;
  bngkit::fuzz::radius_parse_one(empty.data(), 0);
  Bytes max(4096, 0);
  max[0] = 1;
  max[2] = 0x10;
  for (std::size_t i = 20; i + 255 <= max.size(); i += 255) {
    max[i] = 26;  // Vendor-Specific, garbage inside
    max[i + 1] = 255;
  }
  max[3845] = 1;  // the tail: one attribute of the remaining 251 octets
  max[3846] = 251;
  bngkit::fuzz::radius_parse_one(max.data(), max.size());
  Bytes over = max;
  over.push_back(0);
  bngkit::fuzz::radius_parse_one(over.data(), over.size());
}

}  // namespace
}  // namespace bngkit::bng::radius
