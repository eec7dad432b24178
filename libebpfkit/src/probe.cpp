// Feature probes and program run statistics.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bngkit/ebpfkit/libbpf_opts.hpp>
#include <bngkit/ebpfkit/map.hpp>
#include <bngkit/ebpfkit/probe.hpp>
#include <cstdio>
#include <fstream>
#include <string_view>

#include "internal.hpp"

namespace bngkit::ebpfkit {

Result<KernelVersion> kernel_version() {
  struct utsname u {};
  if (::uname(&u) != 0) return errno_error(errno, "uname");
  KernelVersion v;
  v.release = u.release;
  // "6.18.44-flavour": missing parts stay 0.
  if (std::sscanf(u.release, "%u.%u.%u", &v.major, &v.minor, &v.patch) < 2) {
    return make_error(std::errc::invalid_argument,
                      fmt::format("cannot parse kernel release '{}'", v.release));
  }
  return v;
}

bool kernel_btf_available() noexcept { return ::access("/sys/kernel/btf/vmlinux", R_OK) == 0; }

Result<int> jit_enabled() {
  std::ifstream in("/proc/sys/net/core/bpf_jit_enable");
  int v = -1;
  if (!(in >> v)) {
    return make_error(std::errc::no_such_file_or_directory,
                      "reading /proc/sys/net/core/bpf_jit_enable");
  }
  return v;
}

namespace {
Result<bool> probe_result(int rc, std::string what) {
  if (rc == 1) return true;
  if (rc == 0) return false;
  return detail::bpf_error(rc, "probing {}", what);
}
}  // namespace

Result<bool> probe_map_type(bpf_map_type type) {
  return probe_result(libbpf_probe_bpf_map_type(type, nullptr),
                      fmt::format("map type {}", map_type_name(type)));
}

Result<bool> probe_program_type(bpf_prog_type type) {
  const char* n = libbpf_bpf_prog_type_str(type);
  return probe_result(libbpf_probe_bpf_prog_type(type, nullptr),
                      fmt::format("program type {}", n != nullptr ? n : "unknown"));
}

Result<bool> probe_helper(bpf_prog_type type, bpf_func_id helper) {
  const char* n = libbpf_bpf_prog_type_str(type);
  auto r = probe_result(libbpf_probe_bpf_helper(type, helper, nullptr),
                        fmt::format("helper {} for {} programs", static_cast<int>(helper),
                                    n != nullptr ? n : "unknown"));
  if (!r || !*r) return r;
  // libbpf 1.1 only knows the verifier's older wording ("unknown func"); kernels since
  // 6.x say "program of this type cannot use helper", which libbpf takes for support.
  // Load the same probe program once more and read the log ourselves.
  const bpf_insn insns[] = {
      {.code = BPF_JMP | BPF_CALL,
       .dst_reg = 0,
       .src_reg = 0,
       .off = 0,
       .imm = static_cast<std::int32_t>(helper)},
      {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .src_reg = 0, .off = 0, .imm = 0},
      {.code = BPF_JMP | BPF_EXIT, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = 0},
  };
  char log[4096] = {};
  LibbpfOpts<bpf_prog_load_opts> lo;
  lo.log_level = 1;
  lo.log_size = sizeof(log);
  lo.log_buf = log;
  int fd = bpf_prog_load(type, nullptr, "GPL", insns, 3, &lo);
  if (fd >= 0) {
    ::close(fd);
    return true;
  }
  std::string_view text(log);
  if (text.find("cannot use helper") != std::string_view::npos ||
      text.find("unknown func") != std::string_view::npos ||
      text.find("invalid func") != std::string_view::npos) {
    return false;
  }
  return true;  // failed for another reason (arguments): the helper itself is known
}

Result<StatsEnabler> StatsEnabler::enable() {
  int fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
  if (fd < 0) return detail::bpf_error(fd, "enabling BPF run-time stats (BPF_ENABLE_STATS)");
  return StatsEnabler(UniqueFd(fd));
}

Result<RunStats> run_stats(ProgramRef prog) {
  auto info = program_info(prog.fd());
  if (!info) return info.error();
  return RunStats{info->run_cnt, info->run_time_ns, info->recursion_misses};
}

}  // namespace bngkit::ebpfkit
