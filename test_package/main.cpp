// test_package: one call into each linked bngkit library, no privileges needed.
#include <unistd.h>

#include <bngkit/bng/dhcp/message.hpp>
#include <bngkit/ebpfkit/fd.hpp>
#include <bngkit/fanout/config.hpp>
#include <bngkit/nexus/ip.hpp>
#include <cstdint>
#include <cstdio>

int main() {
  const std::uint8_t truncated[10] = {1, 1, 6, 0};
  if (bngkit::bng::dhcp::Message::parse(truncated).ok()) return 1;  // codec: an error, no crash
  bngkit::ebpfkit::UniqueFd fd(::dup(STDOUT_FILENO));
  if (!fd) return 1;
  auto ip = bngkit::nexus::IpAddress::parse("10.0.1.7");
  if (!ip || ip->to_string() != "10.0.1.7" || bngkit::nexus::IpAddress::parse("10.0.1.256"))
    return 1;
  auto mode = bngkit::fanout::parse_mode("tc_ebpf");
  if (!mode || bngkit::fanout::to_string(*mode) != "tc_ebpf") return 1;
  std::printf("bngkit test_package ok\n");
  return 0;
}
