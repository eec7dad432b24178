// BPF_PROG_TEST_RUN wrapper.
#include <bpf/bpf.h>

#include <bngkit/ebpfkit/libbpf_opts.hpp>
#include <bngkit/ebpfkit/test_run.hpp>

#include "internal.hpp"

namespace bngkit::ebpfkit {

Result<TestRunResult> test_run(ProgramRef prog, const TestRunInput& in) {
  TestRunResult out;
  out.data.resize(in.data_out_capacity.value_or(in.data.size() + 4096));
  out.ctx.resize(in.ctx_out_capacity);
  LibbpfOpts<bpf_test_run_opts> opts;
  opts.data_in = in.data.data();
  opts.data_size_in = static_cast<std::uint32_t>(in.data.size());
  opts.data_out = out.data.empty() ? nullptr : out.data.data();
  opts.data_size_out = static_cast<std::uint32_t>(out.data.size());
  if (!in.ctx.empty()) {
    opts.ctx_in = in.ctx.data();
    opts.ctx_size_in = static_cast<std::uint32_t>(in.ctx.size());
  }
  if (!out.ctx.empty()) {
    opts.ctx_out = out.ctx.data();
    opts.ctx_size_out = static_cast<std::uint32_t>(out.ctx.size());
  }
  opts.repeat = in.repeat;
  opts.flags = in.flags;
  int rc = bpf_prog_test_run_opts(prog.fd(), &opts);
  if (rc != 0) {
    const char* hint = "";
    if (-rc == ENOSPC) hint = " (output larger than data_out_capacity)";
    if (-rc == EINVAL && in.data.size() < 14) hint = " (packet shorter than an Ethernet header)";
    return detail::bpf_error(rc, "BPF_PROG_TEST_RUN of program fd {} on {} bytes{}", prog.fd(),
                             in.data.size(), hint);
  }
  out.retval = opts.retval;
  out.duration_ns = opts.duration;
  out.data.resize(std::min<std::size_t>(opts.data_size_out, out.data.size()));
  out.ctx.resize(std::min<std::size_t>(opts.ctx_size_out, out.ctx.size()));
  return out;
}

}  // namespace bngkit::ebpfkit
