// The config fuzz entry point (fuzz/config_parse_fuzz.cpp) over its corpus: the shipped
// configs (deploy/, the lab config, the tests' examples), every prefix and mutations.
#include "fuzz_corpus.hpp"

#include <fstream>
#include <iterator>
#include <string>

#include "../../apps/bng/config.hpp"
#include "../../apps/nexus/config.hpp"
#include "../../apps/udp-fanout/config.hpp"

namespace bngkit::fuzz {
int config_parse_one(const std::uint8_t* data, std::size_t size);
namespace {

TEST(ConfigFuzzCorpus, ParsersRejectWithMessagesAndAcceptDeterministically) {
  const auto seeds = testing::load_corpus(BNGKIT_CONFIG_FUZZ_CORPUS);
  ASSERT_GE(seeds.size(), 10u) << "fuzz/config_parse_corpus is missing";
  testing::run_corpus(&config_parse_one, seeds, 3, 300);
}

// The seeds reach the accepting paths too (what parses is re-validated by the entry point).
TEST(ConfigFuzzCorpus, ShippedConfigsAreAccepted) {
  const std::uint8_t none = 0;
  config_parse_one(&none, 0);  // sets the ${ENV} names the deploy configs use
  auto text = [](const char* name) {
    std::ifstream in(std::string(BNGKIT_CONFIG_FUZZ_CORPUS) + "/" + name);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  };
  auto bng = bngd::parse_config(text("deploy-bng.toml"), "bng.toml");
  EXPECT_TRUE(bng) << bng.error().message();
  auto lab = bngd::parse_config(text("bng-lab.toml"), "bng.toml");
  EXPECT_TRUE(lab) << lab.error().message();
  auto radius = bngd::parse_config(text("bng-radius.toml"), "bng.toml");
  EXPECT_TRUE(radius) << radius.error().message();
  auto fanout = fanoutd::parse_config(text("deploy-udp-fanout.toml"), "fanout.toml");
  EXPECT_TRUE(fanout) << fanout.error().message();
}

}  // namespace
}  // namespace bngkit::fuzz
