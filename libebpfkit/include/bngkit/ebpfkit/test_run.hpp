// BPF_PROG_TEST_RUN: run a loaded program (XDP, TC/SCHED_CLS, ...) on a packet given
// from user space and get its verdict, run time and output packet back — the way to
// test packet programs byte for byte without a network.
#pragma once

#include <bngkit/common/result.hpp>
#include <bngkit/ebpfkit/export.hpp>
#include <bngkit/ebpfkit/program.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace bngkit::ebpfkit {

/// Input of one test run.
struct TestRunInput {
  /// Packet bytes (for XDP and TC: a full Ethernet frame, at least 14 bytes).
  std::span<const std::byte> data;
  /// Room for the output packet. Default: data.size() + 4096, enough for programs that
  /// grow the frame (bpf_xdp_adjust_tail / bpf_xdp_adjust_head). Too small gives ENOSPC.
  std::optional<std::size_t> data_out_capacity;
  /// Optional context in (struct xdp_md for XDP, struct __sk_buff for TC).
  std::span<const std::byte> ctx;
  /// Room for the context out (0: do not read it back).
  std::size_t ctx_out_capacity = 0;
  /// Runs in the kernel loop; the reported duration is the mean per run.
  std::uint32_t repeat = 1;
  /// BPF_F_TEST_* flags (e.g. BPF_F_TEST_XDP_LIVE_FRAMES); 0 for a plain run.
  std::uint32_t flags = 0;
};

/// Output of one test run.
struct TestRunResult {
  std::uint32_t retval = 0;       ///< program verdict (XDP_PASS, TC_ACT_OK, ...)
  std::uint32_t duration_ns = 0;  ///< mean time per run, as the kernel measured it
  std::vector<std::byte> data;    ///< output packet (resized to what the kernel wrote)
  std::vector<std::byte> ctx;     ///< context out (empty unless ctx_out_capacity > 0)
};

/// Runs `prog` once (or `in.repeat` times) on `in.data`.
[[nodiscard]] BNGKIT_EBPFKIT_EXPORT Result<TestRunResult> test_run(ProgramRef prog,
                                                                   const TestRunInput& in);

/// Shorthand: run on `packet` with defaults.
[[nodiscard]] inline Result<TestRunResult> test_run(ProgramRef prog,
                                                    std::span<const std::byte> packet,
                                                    std::uint32_t repeat = 1) {
  TestRunInput in;
  in.data = packet;
  in.repeat = repeat;
  return test_run(prog, in);
}

}  // namespace bngkit::ebpfkit
