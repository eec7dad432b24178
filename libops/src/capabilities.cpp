// Capability dropping with capget/capset and prctl directly (no libcap needed).
#include <bngkit/ops/capabilities.hpp>

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <fstream>

namespace bngkit::ops {

namespace {

// Names as capabilities(7) and /proc show them, by number.
constexpr std::array<const char*, 41> kNames = {
    "cap_chown",           "cap_dac_override",   "cap_dac_read_search", "cap_fowner",
    "cap_fsetid",          "cap_kill",           "cap_setgid",          "cap_setuid",
    "cap_setpcap",         "cap_linux_immutable", "cap_net_bind_service", "cap_net_broadcast",
    "cap_net_admin",       "cap_net_raw",        "cap_ipc_lock",        "cap_ipc_owner",
    "cap_sys_module",      "cap_sys_rawio",      "cap_sys_chroot",      "cap_sys_ptrace",
    "cap_sys_pacct",       "cap_sys_admin",      "cap_sys_boot",        "cap_sys_nice",
    "cap_sys_resource",    "cap_sys_time",       "cap_sys_tty_config",  "cap_mknod",
    "cap_lease",           "cap_audit_write",    "cap_audit_control",   "cap_setfcap",
    "cap_mac_override",    "cap_mac_admin",      "cap_syslog",          "cap_wake_alarm",
    "cap_block_suspend",   "cap_audit_read",     "cap_perfmon",         "cap_bpf",
    "cap_checkpoint_restore"};

int last_cap() {
  std::ifstream in("/proc/sys/kernel/cap_last_cap");
  int n = -1;
  if (in >> n && n > 0 && n < 64) return n;
  return CAP_LAST_CAP;
}

struct Sets {
  std::uint64_t effective = 0, permitted = 0, inheritable = 0;
};

Result<Sets> get_sets() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  std::array<__user_cap_data_struct, 2> data{};
  if (::syscall(SYS_capget, &header, data.data()) != 0) return errno_error(errno, "capget");
  auto join = [](std::uint32_t lo, std::uint32_t hi) { return std::uint64_t{hi} << 32 | lo; };
  return Sets{join(data[0].effective, data[1].effective), join(data[0].permitted, data[1].permitted),
              join(data[0].inheritable, data[1].inheritable)};
}

Result<void> set_sets(const Sets& s) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  std::array<__user_cap_data_struct, 2> data{};
  for (int i = 0; i < 2; ++i) {
    data[static_cast<std::size_t>(i)].effective = static_cast<std::uint32_t>(s.effective >> (32 * i));
    data[static_cast<std::size_t>(i)].permitted = static_cast<std::uint32_t>(s.permitted >> (32 * i));
    data[static_cast<std::size_t>(i)].inheritable = static_cast<std::uint32_t>(s.inheritable >> (32 * i));
  }
  if (::syscall(SYS_capset, &header, data.data()) != 0) return errno_error(errno, "capset");
  return ok();
}

constexpr std::uint64_t bit(int cap) { return std::uint64_t{1} << cap; }

}  // namespace

std::string capability_names(std::uint64_t mask) {
  std::string out;
  for (int c = 0; c < 64; ++c) {
    if ((mask & bit(c)) == 0) continue;
    if (!out.empty()) out += ',';
    out += static_cast<std::size_t>(c) < kNames.size() ? std::string(kNames[static_cast<std::size_t>(c)])
                                                       : "cap_" + std::to_string(c);
  }
  return out.empty() ? "none" : out;
}

Result<std::uint64_t> effective_capabilities() {
  auto s = get_sets();
  if (!s) return s.error();
  return s->effective;
}

Result<CapabilityDrop> drop_capabilities_except(std::initializer_list<int> keep) {
  auto before = get_sets();
  if (!before) return before.error();
  std::uint64_t wanted = 0;
  for (int c : keep) wanted |= bit(c);
  CapabilityDrop result;
  result.kept = before->permitted & wanted;
  result.dropped = before->permitted & ~wanted;

  // The bounding set first: dropping from it needs CAP_SETPCAP, which goes below.
  if ((before->effective & bit(CAP_SETPCAP)) != 0) {
    for (int c = 0; c <= last_cap(); ++c) {
      if ((wanted & bit(c)) != 0 || ::prctl(PR_CAPBSET_READ, c, 0, 0, 0) != 1) continue;
      if (::prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0) {
        return errno_error(errno, "dropping " + capability_names(bit(c)) + " from the bounding set");
      }
    }
    result.bounding_dropped = true;
  }
  // Ambient capabilities would survive an execve(); EINVAL: a kernel without them.
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
    return errno_error(errno, "clearing the ambient capabilities");
  }
  if (auto r = set_sets(Sets{result.kept, result.kept, 0}); !r) {
    return Error{r.error().code, "keeping only " + capability_names(result.kept) + ": " + r.error().context};
  }
  return result;
}

}  // namespace bngkit::ops
