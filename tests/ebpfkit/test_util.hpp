// Shared helpers for the libebpfkit tests: privilege check, loading the test object,
// building packets.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <bngkit/ebpfkit/object.hpp>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "bpf/ebpfkit_test_abi.h"

namespace ektest {

/// True when this process may load BPF programs (root or CAP_BPF + CAP_NET_ADMIN).
inline bool have_bpf_privileges() {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (::syscall(SYS_capget, &hdr, data) != 0) return ::geteuid() == 0;
  auto has = [&](int cap) { return (data[cap / 32].effective & (1U << (cap % 32))) != 0; };
  return has(CAP_SYS_ADMIN) || (has(39 /* CAP_BPF */) && has(CAP_NET_ADMIN));
}

#define EBPFKIT_REQUIRE_PRIVILEGES()                                                          \
  do {                                                                                        \
    if (!::ektest::have_bpf_privileges())                                                     \
      GTEST_SKIP() << "needs root/CAP_BPF+CAP_NET_ADMIN: loads BPF programs into the kernel"; \
  } while (0)

/// Opens (not loads) the embedded test object (bpf/ebpfkit_test.bpf.c).
bngkit::Result<bngkit::ebpfkit::Object> open_test_object(
    const bngkit::ebpfkit::ObjectOptions& opts = {});
/// Opens the object with a program the verifier rejects (bpf/ebpfkit_bad.bpf.c).
bngkit::Result<bngkit::ebpfkit::Object> open_bad_object(
    const bngkit::ebpfkit::ObjectOptions& opts = {});
/// The ELF image of the test object.
std::span<const std::byte> test_object_elf();

/// Opens and loads the embedded test object; asserts on failure.
inline bngkit::ebpfkit::Object load_test_object(bngkit::ebpfkit::ObjectOptions opts = {}) {
  auto obj = open_test_object(opts);
  EXPECT_TRUE(obj.ok()) << obj.error().message();
  auto r = obj->load();
  EXPECT_TRUE(r.ok()) << r.error().message();
  return std::move(obj).value();
}

inline std::uint16_t ip_checksum(const std::uint8_t* p, std::size_t n) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i + 1 < n; i += 2) sum += (p[i] << 8) | p[i + 1];
  if (n & 1) sum += p[n - 1] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

/// Ethernet + IPv4 + UDP frame with `payload`, checksummed IPv4 header, UDP csum 0.
inline std::vector<std::byte> udp_frame(std::uint16_t dport,
                                        const std::vector<std::uint8_t>& payload,
                                        std::uint8_t ttl = 64) {
  std::vector<std::uint8_t> f(14 + 20 + 8 + payload.size());
  const std::uint8_t dst[6] = {0x02, 0, 0, 0, 0, 0x02};
  const std::uint8_t src[6] = {0x02, 0, 0, 0, 0, 0x01};
  std::memcpy(&f[0], dst, 6);
  std::memcpy(&f[6], src, 6);
  f[12] = 0x08;
  f[13] = 0x00;
  std::uint8_t* ip = &f[14];
  const std::size_t ip_len = 20 + 8 + payload.size();
  ip[0] = 0x45;
  ip[2] = static_cast<std::uint8_t>(ip_len >> 8);
  ip[3] = static_cast<std::uint8_t>(ip_len);
  ip[8] = ttl;
  ip[9] = 17;
  const std::uint8_t saddr[4] = {10, 0, 0, 1};
  const std::uint8_t daddr[4] = {10, 0, 0, 2};
  std::memcpy(ip + 12, saddr, 4);
  std::memcpy(ip + 16, daddr, 4);
  std::uint16_t c = ip_checksum(ip, 20);
  ip[10] = static_cast<std::uint8_t>(c >> 8);
  ip[11] = static_cast<std::uint8_t>(c);
  std::uint8_t* udp = ip + 20;
  udp[0] = 0x30;
  udp[1] = 0x39;  // sport 12345
  udp[2] = static_cast<std::uint8_t>(dport >> 8);
  udp[3] = static_cast<std::uint8_t>(dport);
  udp[4] = static_cast<std::uint8_t>((8 + payload.size()) >> 8);
  udp[5] = static_cast<std::uint8_t>(8 + payload.size());
  std::memcpy(udp + 8, payload.data(), payload.size());
  std::vector<std::byte> out(f.size());
  std::memcpy(out.data(), f.data(), f.size());
  return out;
}

}  // namespace ektest
