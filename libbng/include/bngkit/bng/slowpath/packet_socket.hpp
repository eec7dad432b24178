// PacketSocket: the slow path's link-layer I/O on the subscriber interface. An AF_PACKET
// socket (with a kernel filter so only DHCP server traffic reaches userspace) receives what
// the XDP fast path passed on, VLAN tags included, and sends complete reply frames, so the
// server can answer clients that have no address yet and keep their tags.
#pragma once

#include <bngkit/bng/dhcp/ipv4.hpp>
#include <bngkit/bng/export.hpp>
#include <bngkit/common/result.hpp>
#include <bngkit/ebpfkit/fd.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace bngkit::bng::slowpath {

class BNGKIT_BNG_EXPORT PacketSocket {
 public:
  /// Opens the socket on `interface` (non-blocking). Also binds a UDP socket to port 67 on
  /// the interface so the kernel does not answer DHCP traffic with ICMP port-unreachable.
  [[nodiscard]] static Result<PacketSocket> open(const std::string& interface);

  /// Receives one frame into `buffer` (resized to the frame), with any VLAN tag the kernel
  /// took off put back in place. Returns false when nothing is waiting.
  [[nodiscard]] Result<bool> receive(std::vector<std::uint8_t>& buffer);
  /// Sends one complete Ethernet frame.
  [[nodiscard]] Result<void> send(std::span<const std::uint8_t> frame);

  /// Descriptor to wait on for readability (event loops, Asio).
  [[nodiscard]] int fd() const noexcept { return packet_.get(); }
  [[nodiscard]] int ifindex() const noexcept { return ifindex_; }
  [[nodiscard]] const dhcp::MacAddress& mac() const noexcept { return mac_; }
  [[nodiscard]] const std::string& interface() const noexcept { return interface_; }

 private:
  PacketSocket() = default;
  ebpfkit::UniqueFd packet_;
  ebpfkit::UniqueFd udp_guard_;
  int ifindex_ = 0;
  dhcp::MacAddress mac_;
  std::string interface_;
};

}  // namespace bngkit::bng::slowpath
