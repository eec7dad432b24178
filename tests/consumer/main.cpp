// Consumer of the installed bngkit package: compiles and links against every
// component it names, and runs a call into each shared library.
#include <bngkit/bng/dhcp/message.hpp>
#include <bngkit/common/result.hpp>
#include <bngkit/ebpfkit/fd.hpp>

#include <cstdio>
#include <unistd.h>

int main() {
  bngkit::ebpfkit::UniqueFd fd(::dup(STDOUT_FILENO));
  if (!fd) return 1;
  fd.reset();  // closes through libbngkit_ebpfkit.so
  // The codec alone, as firmware links it: a truncated message is an error, not a crash.
  const std::uint8_t truncated[10] = {1, 1, 6, 0};
  if (bngkit::bng::dhcp::Message::parse(truncated).ok()) return 1;
  bngkit::Result<int> r = bngkit::errno_error(2, "consumer check");
  std::printf("bngkit consumer ok (%s)\n", r.error().message().c_str());
  return fd.valid() ? 1 : 0;
}
