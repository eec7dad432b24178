// Feeds a libFuzzer entry point from a GoogleTest: the committed corpus, every prefix of each
// seed, and seeded mutations (bit flips, byte overwrites with interesting values, cuts,
// duplicated or dropped lines), so the properties a fuzzer checks hold in every build.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

namespace bngkit::fuzz::testing {

using Bytes = std::vector<std::uint8_t>;
using EntryPoint = int (*)(const std::uint8_t*, std::size_t);

inline std::vector<Bytes> load_corpus(const std::filesystem::path& dir) {
  std::vector<Bytes> out;
  if (!std::filesystem::exists(dir)) return out;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    out.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return out;
}

// Start offsets of the lines of `b`.
inline std::vector<std::size_t> line_starts(const Bytes& b) {
  std::vector<std::size_t> out{0};
  for (std::size_t i = 0; i + 1 < b.size(); ++i) {
    if (b[i] == '\n') out.push_back(i + 1);
  }
  return out;
}

inline Bytes mutate(Bytes m, std::mt19937& rng) {
  static constexpr std::uint8_t kInteresting[] = {0x00, 0xff, '"', '[', ']', '=', '\n', '%',
                                                  '{',  '}',  '-', '9', '\\', ':', '/', '$'};
  for (int e = 1 + static_cast<int>(rng() % 6); e > 0 && !m.empty(); --e) {
    const std::size_t at = rng() % m.size();
    switch (rng() % 5) {
      case 0:
        m[at] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
        break;
      case 1:
        m[at] = kInteresting[rng() % std::size(kInteresting)];
        break;
      case 2:
        m.resize(at);
        break;
      default: {  // whole lines: drop one or repeat it
        const auto starts = line_starts(m);
        const std::size_t line = rng() % starts.size();
        const std::size_t begin = starts[line];
        const std::size_t end = line + 1 < starts.size() ? starts[line + 1] : m.size();
        const Bytes text(m.begin() + static_cast<std::ptrdiff_t>(begin),
                         m.begin() + static_cast<std::ptrdiff_t>(end));
        m.erase(m.begin() + static_cast<std::ptrdiff_t>(begin),
                m.begin() + static_cast<std::ptrdiff_t>(end));
        if (rng() % 2 == 0) {
          const std::size_t to = starts[rng() % starts.size()];
          m.insert(m.begin() + static_cast<std::ptrdiff_t>(std::min(to, m.size())), text.begin(),
                   text.end());
          m.insert(m.begin() + static_cast<std::ptrdiff_t>(std::min(to, m.size())), text.begin(),
                   text.end());
        }
      }
    }
  }
  return m;
}

// A failed property aborts the binary with the check that failed; the seed is in the name.
inline void run_corpus(EntryPoint one, const std::vector<Bytes>& seeds, std::uint32_t seed,
                       int mutations_per_seed) {
  std::mt19937 rng(seed);
  for (const Bytes& input : seeds) {
    one(input.data(), input.size());
    for (std::size_t len = 0; len < input.size(); ++len) one(input.data(), len);
    for (int round = 0; round < mutations_per_seed; ++round) {
      const Bytes m = mutate(input, rng);
      one(m.data(), m.size());
    }
  }
}

}  // namespace bngkit::fuzz::testing
