// The HTTP fuzz entry point (fuzz/http_request_fuzz.cpp) over its corpus of pipelined
// requests to the Nexus API and the ops endpoints: every prefix and mutations.
#include "fuzz_corpus.hpp"

namespace bngkit::fuzz {
int http_request_one(const std::uint8_t* data, std::size_t size);
namespace {

TEST(HttpFuzzCorpus, EveryAnswerIsWellFormedAndBadJsonIs400) {
  const auto seeds = testing::load_corpus(BNGKIT_HTTP_FUZZ_CORPUS);
  ASSERT_GE(seeds.size(), 10u) << "fuzz/http_request_corpus is missing";
  testing::run_corpus(&http_request_one, seeds, 4, 300);
}

}  // namespace
}  // namespace bngkit::fuzz
