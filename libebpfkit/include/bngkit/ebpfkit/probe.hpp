// Feature probes (kernel version, BTF, JIT, map/program types, helpers) and program
// run statistics (BPF_ENABLE_STATS + run_cnt/run_time_ns from the program info).
#pragma once

#include <linux/bpf.h>

#include <bngkit/common/result.hpp>
#include <bngkit/ebpfkit/export.hpp>
#include <bngkit/ebpfkit/fd.hpp>
#include <bngkit/ebpfkit/program.hpp>
#include <cstdint>
#include <string>

namespace bngkit::ebpfkit {

/// The running kernel (uname).
struct KernelVersion {
  std::string release;  ///< e.g. "6.18.44-foo"
  unsigned major = 0;
  unsigned minor = 0;
  unsigned patch = 0;
  /// True when this kernel is at least major.minor.
  [[nodiscard]] bool at_least(unsigned maj, unsigned min) const noexcept {
    return major > maj || (major == maj && minor >= min);
  }
};
[[nodiscard]] BNGKIT_EBPFKIT_EXPORT Result<KernelVersion> kernel_version();

/// True when the kernel exposes its BTF (/sys/kernel/btf/vmlinux): CO-RE works.
[[nodiscard]] BNGKIT_EBPFKIT_EXPORT bool kernel_btf_available() noexcept;

/// net.core.bpf_jit_enable: 0 off, 1 on, 2 on with debug output.
[[nodiscard]] BNGKIT_EBPFKIT_EXPORT Result<int> jit_enabled();

/// Whether the kernel supports a map type / program type / helper for a program type
/// (libbpf_probe_bpf_*; needs the privileges to load BPF).
[[nodiscard]] BNGKIT_EBPFKIT_EXPORT Result<bool> probe_map_type(bpf_map_type type);
[[nodiscard]] BNGKIT_EBPFKIT_EXPORT Result<bool> probe_program_type(bpf_prog_type type);
[[nodiscard]] BNGKIT_EBPFKIT_EXPORT Result<bool> probe_helper(bpf_prog_type type,
                                                              bpf_func_id helper);

/// Turns on kernel run-time statistics for all BPF programs while it lives
/// (BPF_ENABLE_STATS / BPF_STATS_RUN_TIME; the kernel counts users). Costs ~20 ns per
/// program run, so keep it for when stats are wanted.
class BNGKIT_EBPFKIT_EXPORT StatsEnabler {
 public:
  [[nodiscard]] static Result<StatsEnabler> enable();
  [[nodiscard]] bool active() const noexcept { return fd_.valid(); }
  /// Stops counting (when no other holder remains).
  void reset() noexcept { fd_.reset(); }

 private:
  explicit StatsEnabler(UniqueFd fd) noexcept : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

/// Run statistics of a program (non-zero only while stats are enabled).
struct RunStats {
  std::uint64_t run_count = 0;
  std::uint64_t run_time_ns = 0;
  std::uint64_t recursion_misses = 0;
  /// Mean run time in nanoseconds (0 when it never ran).
  [[nodiscard]] double mean_ns() const noexcept {
    return run_count == 0 ? 0.0 : static_cast<double>(run_time_ns) / static_cast<double>(run_count);
  }
  /// Difference `*this - earlier` (for rates between two samples).
  [[nodiscard]] RunStats since(const RunStats& earlier) const noexcept {
    return {run_count - earlier.run_count, run_time_ns - earlier.run_time_ns,
            recursion_misses - earlier.recursion_misses};
  }
};
[[nodiscard]] BNGKIT_EBPFKIT_EXPORT Result<RunStats> run_stats(ProgramRef prog);

}  // namespace bngkit::ebpfkit
