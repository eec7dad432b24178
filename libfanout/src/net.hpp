// Small socket helpers shared by the engines and the prober (private to libfanout).
#pragma once

#include <bngkit/common/result.hpp>
#include <bngkit/ebpfkit/fd.hpp>
#include <bngkit/fanout/endpoint.hpp>

#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace bngkit::fanout::net {

using ebpfkit::UniqueFd;

/// sockaddr_in of an endpoint.
[[nodiscard]] inline sockaddr_in to_sockaddr(const Endpoint& e) noexcept {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = e.address_be;
  sa.sin_port = htons(e.port);
  return sa;
}

/// Endpoint of a sockaddr_in.
[[nodiscard]] inline Endpoint from_sockaddr(const sockaddr_in& sa) noexcept {
  return Endpoint{sa.sin_addr.s_addr, ntohs(sa.sin_port)};
}

/// socket(2) as a Result.
[[nodiscard]] Result<UniqueFd> make_socket(int domain, int type, int protocol, const char* what);

/// setsockopt of an int, with an error naming the option.
[[nodiscard]] Result<void> set_int_option(int fd, int level, int option, int value,
                                          const char* name);

/// Sets a socket buffer size: SO_*BUFFORCE when permitted (beyond the sysctl maximum),
/// else SO_*BUF. `receive` picks RCV or SND.
[[nodiscard]] Result<void> set_buffer_size(int fd, bool receive, std::uint32_t bytes);

/// CPUs this process may run on (sched_getaffinity), ascending.
[[nodiscard]] std::vector<int> allowed_cpus();

/// Pins the calling thread to `cpu`.
[[nodiscard]] Result<void> pin_thread_to_cpu(int cpu);

/// Path MTU towards `to` as the routing table sees it (connect + IP_MTU on `fd`, a UDP
/// socket kept for this purpose); nullopt when there is no route.
[[nodiscard]] Result<std::uint32_t> route_mtu(int fd, const Endpoint& to);

/// One's-complement sum of `len` bytes (not folded, not inverted), for UDP checksums.
[[nodiscard]] std::uint32_t checksum_add(const void* data, std::size_t len,
                                         std::uint32_t sum = 0) noexcept;
/// Folds a 32-bit one's-complement sum to 16 bits and inverts it.
[[nodiscard]] inline std::uint16_t checksum_fold(std::uint32_t sum) noexcept {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

}  // namespace bngkit::fanout::net
