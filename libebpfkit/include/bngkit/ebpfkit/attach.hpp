// Attaching programs to network interfaces with RAII: XdpAttachment (native / generic /
// automatic mode, restores the program that was there before) and TcAttachment
// (clsact ingress/egress filter, removes the clsact qdisc only if it created it).
// Both detach only while their own program is still the one attached, and both can be
// released on purpose to stay attached after the process exits.
#pragma once

#include <bngkit/common/result.hpp>
#include <bngkit/ebpfkit/export.hpp>
#include <bngkit/ebpfkit/fd.hpp>
#include <bngkit/ebpfkit/program.hpp>
#include <cstdint>
#include <string>
#include <string_view>

namespace bngkit::ebpfkit {

/// Interface index of `name`; error "no network interface named X" when absent.
[[nodiscard]] BNGKIT_EBPFKIT_EXPORT Result<unsigned> interface_index(std::string_view name);

/// How an XDP program runs on an interface.
enum class XdpMode : std::uint8_t {
  automatic,  ///< native when the driver supports it, else generic
  native,     ///< in the driver (XDP_FLAGS_DRV_MODE)
  generic,    ///< in the stack after skb allocation (XDP_FLAGS_SKB_MODE), works everywhere
};

/// "native", "generic" or "automatic".
[[nodiscard]] BNGKIT_EBPFKIT_EXPORT std::string_view to_string(XdpMode mode) noexcept;

/// Kernel ids of the XDP programs attached to an interface (0: none).
struct XdpQuery {
  std::uint32_t native_id = 0;
  std::uint32_t generic_id = 0;
  std::uint32_t offload_id = 0;
};
/// What is attached at `ifindex` right now (bpf_xdp_query).
[[nodiscard]] BNGKIT_EBPFKIT_EXPORT Result<XdpQuery> xdp_query(unsigned ifindex);
/// Detaches the XDP program `prog_id` from `ifindex` (whatever its mode) if it is still
/// the one attached there; false when it was not attached. For removing a program that
/// a crashed process left behind, without touching anyone else's.
[[nodiscard]] BNGKIT_EBPFKIT_EXPORT Result<bool> xdp_detach_id(unsigned ifindex,
                                                                std::uint32_t prog_id);

struct XdpAttachOptions {
  XdpMode mode = XdpMode::automatic;
  /// Replace a program already attached in that mode (it is restored on detach).
  /// false: fail with EEXIST instead.
  bool replace = true;
};

/// An XDP program attached to an interface; detaches (restoring the previous program)
/// when destroyed. Holds its own reference to the program, so the Object may go first.
class BNGKIT_EBPFKIT_EXPORT XdpAttachment {
 public:
  [[nodiscard]] static Result<XdpAttachment> attach(std::string_view ifname, ProgramRef prog,
                                                    const XdpAttachOptions& opts = {});
  [[nodiscard]] static Result<XdpAttachment> attach(unsigned ifindex, ProgramRef prog,
                                                    const XdpAttachOptions& opts = {});

  XdpAttachment(XdpAttachment&& other) noexcept;
  XdpAttachment& operator=(XdpAttachment&& other) noexcept;
  XdpAttachment(const XdpAttachment&) = delete;
  XdpAttachment& operator=(const XdpAttachment&) = delete;
  ~XdpAttachment();

  /// Detaches now: if our program is still attached, puts the previous program back
  /// (or leaves the interface empty). A no-op when someone else replaced ours.
  [[nodiscard]] Result<void> detach();
  /// Leaves the program attached for good (e.g. a daemon handing over to a restart).
  void release() noexcept;
  /// True while our program is the one attached in our mode.
  [[nodiscard]] Result<bool> still_attached() const;

  [[nodiscard]] bool active() const noexcept { return prog_.valid(); }
  [[nodiscard]] unsigned ifindex() const noexcept { return ifindex_; }
  /// The mode actually used (automatic resolved to native or generic).
  [[nodiscard]] XdpMode mode() const noexcept { return mode_; }
  [[nodiscard]] std::uint32_t program_id() const noexcept { return prog_id_; }
  /// Program id that was attached before us in our mode (0: none).
  [[nodiscard]] std::uint32_t previous_program_id() const noexcept { return prev_id_; }

 private:
  XdpAttachment() = default;
  UniqueFd prog_;   // our program (dup: keeps it alive)
  UniqueFd prev_;   // the program we replaced, to restore it
  UniqueFd netns_;  // the network namespace we attached in
  unsigned ifindex_ = 0;
  XdpMode mode_ = XdpMode::automatic;
  std::uint32_t prog_id_ = 0;
  std::uint32_t prev_id_ = 0;
};

/// clsact hook point.
enum class TcDirection : std::uint8_t { ingress, egress };

struct TcAttachOptions {
  TcDirection direction = TcDirection::ingress;
  /// Filter priority and handle; 0 lets the kernel choose (read back after attach).
  std::uint32_t priority = 0;
  std::uint32_t handle = 0;
  /// Replace a filter already at (priority, handle); needs both set.
  bool replace = false;
};

/// A TC (SCHED_CLS, direct-action) program on an interface's clsact qdisc; removes its
/// filter when destroyed and the qdisc too when this process created it and no other
/// TcAttachment of this process still uses it.
class BNGKIT_EBPFKIT_EXPORT TcAttachment {
 public:
  [[nodiscard]] static Result<TcAttachment> attach(std::string_view ifname, ProgramRef prog,
                                                   const TcAttachOptions& opts = {});
  [[nodiscard]] static Result<TcAttachment> attach(unsigned ifindex, ProgramRef prog,
                                                   const TcAttachOptions& opts = {});

  TcAttachment(TcAttachment&& other) noexcept;
  TcAttachment& operator=(TcAttachment&& other) noexcept;
  TcAttachment(const TcAttachment&) = delete;
  TcAttachment& operator=(const TcAttachment&) = delete;
  ~TcAttachment();

  /// Removes our filter (if still ours) and the clsact qdisc if we created it.
  [[nodiscard]] Result<void> detach();
  /// Leaves the filter (and the qdisc) in place for good.
  void release() noexcept;
  /// True while our program is the filter at (priority, handle).
  [[nodiscard]] Result<bool> still_attached() const;

  [[nodiscard]] bool active() const noexcept { return prog_.valid(); }
  [[nodiscard]] unsigned ifindex() const noexcept { return ifindex_; }
  [[nodiscard]] TcDirection direction() const noexcept { return direction_; }
  [[nodiscard]] std::uint32_t priority() const noexcept { return priority_; }
  [[nodiscard]] std::uint32_t handle() const noexcept { return handle_; }
  [[nodiscard]] std::uint32_t program_id() const noexcept { return prog_id_; }
  /// True when this attachment created the clsact qdisc.
  [[nodiscard]] bool created_qdisc() const noexcept { return created_qdisc_; }

 private:
  TcAttachment() = default;
  UniqueFd prog_;
  UniqueFd netns_;
  unsigned ifindex_ = 0;
  TcDirection direction_ = TcDirection::ingress;
  std::uint32_t priority_ = 0;
  std::uint32_t handle_ = 0;
  std::uint32_t prog_id_ = 0;
  bool created_qdisc_ = false;
};

/// Program id of the TC filter at (ifindex, direction, priority, handle); 0 when none.
[[nodiscard]] BNGKIT_EBPFKIT_EXPORT Result<std::uint32_t> tc_query(unsigned ifindex,
                                                                   TcDirection direction,
                                                                   std::uint32_t priority,
                                                                   std::uint32_t handle);

}  // namespace bngkit::ebpfkit
