// libFuzzer target for the Ethernet/VLAN/IPv4/UDP frame parser: any bytes either fail with a
// message or give a payload inside the frame; a frame rebuilt from the parsed headers parses
// back to the same headers and payload. Also linked into bng_dhcp_codec_tests.
#include <algorithm>
#include <bngkit/bng/dhcp/frame.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#define FRAME_FUZZ_CHECK(cond)                                                                   \
  do {                                                                                           \
    if (!(cond)) {                                                                               \
      std::fprintf(stderr, "frame fuzz: check failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                              \
    }                                                                                            \
  } while (0)

namespace bngkit::fuzz {

using namespace bngkit::bng::dhcp;

int dhcp_frame_one(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> input(data, size);
  for (bool verify : {true, false}) {
    auto frame = parse_udp_frame(input, FrameChecks{verify, verify});
    if (!frame) {
      FRAME_FUZZ_CHECK(!frame.error().context.empty());
      continue;
    }
    FRAME_FUZZ_CHECK(frame->payload.data() >= input.data());
    FRAME_FUZZ_CHECK(frame->payload.data() + frame->payload.size() <= input.data() + input.size());
    auto rebuilt = build_udp_frame(frame->headers, frame->payload);
    FRAME_FUZZ_CHECK(rebuilt.ok());
    auto back = parse_udp_frame(*rebuilt);
    FRAME_FUZZ_CHECK(back.ok());
    FRAME_FUZZ_CHECK(back->headers == frame->headers);
    FRAME_FUZZ_CHECK(std::equal(back->payload.begin(), back->payload.end(), frame->payload.begin(),
                                frame->payload.end()));
    (void)Message::parse(frame->payload);
  }
  return 0;
}

}  // namespace bngkit::fuzz

#ifndef BNGKIT_FUZZ_IN_GTEST
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return bngkit::fuzz::dhcp_frame_one(data, size);
}
#endif
