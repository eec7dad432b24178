// The config fuzz entry point (fuzz/config_parse_fuzz.cpp) over its corpus: the shipped
// configs (deploy/, the lab config, the tests' examples), every prefix and mutations.
#include "fuzz_corpus.hpp"

namespace bngkit::fuzz {
int config_parse_one(const std::uint8_t* data, std::size_t size);
namespace {

TEST(ConfigFuzzCorpus, ParsersRejectWithMessagesAndAcceptDeterministically) {
  const auto seeds = testing::load_corpus(BNGKIT_CONFIG_FUZZ_CORPUS);
  ASSERT_GE(seeds.size(), 10u) << "fuzz/config_parse_corpus is missing";
  testing::run_corpus(&config_parse_one, seeds, 3, 300);
}

}  // namespace
}  // namespace bngkit::fuzz
