// Socket helpers: options, buffer sizes, CPU sets, route MTU, checksums.
#include "net.hpp"

#include <netinet/ip.h>
#include <pthread.h>
#include <sched.h>

#include <cstring>

namespace bngkit::fanout::net {

Result<UniqueFd> make_socket(int domain, int type, int protocol, const char* what) {
  const int fd = ::socket(domain, type | SOCK_CLOEXEC, protocol);
  if (fd < 0) return errno_error(errno, std::string("socket for ") + what);
  return UniqueFd(fd);
}

Result<void> set_int_option(int fd, int level, int option, int value, const char* name) {
  if (::setsockopt(fd, level, option, &value, sizeof value) != 0) {
    return errno_error(errno, std::string("setsockopt ") + name);
  }
  return ok();
}

Result<void> set_buffer_size(int fd, bool receive, std::uint32_t bytes) {
  if (bytes == 0) return ok();
  const int value = static_cast<int>(bytes > 0x7fffffffU ? 0x7fffffffU : bytes);
  // FORCE needs CAP_NET_ADMIN; without it the plain option is capped at the
  // net.core.[rw]mem_max sysctl, which is the best an unprivileged process can get.
  const int forced = receive ? SO_RCVBUFFORCE : SO_SNDBUFFORCE;
  if (::setsockopt(fd, SOL_SOCKET, forced, &value, sizeof value) == 0) return ok();
  return set_int_option(fd, SOL_SOCKET, receive ? SO_RCVBUF : SO_SNDBUF, value,
                        receive ? "SO_RCVBUF" : "SO_SNDBUF");
}

std::vector<int> allowed_cpus() {
  std::vector<int> cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  }
  return cpus;
}

Result<void> pin_thread_to_cpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  const int err = ::pthread_setaffinity_np(::pthread_self(), sizeof set, &set);
  if (err != 0) return errno_error(err, "pin thread to CPU " + std::to_string(cpu));
  return ok();
}

Result<std::uint32_t> route_mtu(int fd, const Endpoint& to) {
  const sockaddr_in sa = to_sockaddr(to);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
    return errno_error(errno, "route to " + to.to_string());
  }
  int mtu = 0;
  socklen_t len = sizeof mtu;
  if (::getsockopt(fd, IPPROTO_IP, IP_MTU, &mtu, &len) != 0) {
    return errno_error(errno, "IP_MTU towards " + to.to_string());
  }
  return static_cast<std::uint32_t>(mtu);
}

std::uint32_t checksum_add(const void* data, std::size_t len, std::uint32_t sum) noexcept {
  const auto* p = static_cast<const std::uint8_t*>(data);
  // 32-bit words into a 64-bit accumulator, folded at the end: a quarter of the adds of
  // the 16-bit loop, and the one's-complement sum is the same (RFC 1071, section 2).
  std::uint64_t acc = sum;
  while (len >= 4) {
    std::uint32_t w;
    std::memcpy(&w, p, 4);
    acc += w;
    p += 4;
    len -= 4;
  }
  if (len >= 2) {
    std::uint16_t w;
    std::memcpy(&w, p, 2);
    acc += w;
    p += 2;
    len -= 2;
  }
  if (len == 1) {
    std::uint16_t w = 0;
    std::memcpy(&w, p, 1);  // the odd byte is the high-order byte of a zero-padded word
    acc += w;
  }
  while (acc >> 32) acc = (acc & 0xffffffffULL) + (acc >> 32);
  auto s = static_cast<std::uint32_t>(acc);
  return (s & 0xffff) + (s >> 16);
}

}  // namespace bngkit::fanout::net
