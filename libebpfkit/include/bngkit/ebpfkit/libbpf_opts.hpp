// libbpf "opts" structs (bpf_map_batch_opts, bpf_tc_hook, ...) made ready for use from C++.
#pragma once

#include <cstddef>
#include <cstring>
#include <type_traits>

namespace bngkit::ebpfkit {

/// A libbpf opts struct as libbpf's `LIBBPF_OPTS(Opts, name)` macro makes it: every byte
/// zero, padding included, and `sz` set to `sizeof(Opts)`. Set the other fields by name and
/// pass its address where libbpf wants an `Opts*`:
///
///     LibbpfOpts<bpf_tc_hook> hook;
///     hook.ifindex = ifindex;
///     hook.attach_point = BPF_TC_INGRESS;
///     bpf_tc_hook_create(&hook);
///
/// The macro itself is C (a compound literal in a GNU statement expression) and -Wpedantic
/// rejects it in C++. Padding matters: libbpf tells from `sz` which fields the caller knows
/// and refuses (EINVAL) opts whose bytes after the last field it knows, tail padding
/// included, are not zero. That is why this is an object zeroed where it lives and not a
/// function returning an `Opts`: a small struct comes back in registers, which carry the
/// fields but not the padding (clang -O2 returns bpf_xdp_attach_opts' tail as garbage). It
/// cannot be copied for the same reason.
template <typename Opts>
struct LibbpfOpts : Opts {
  static_assert(std::is_trivially_copyable_v<Opts> && std::is_standard_layout_v<Opts>,
                "libbpf opts structs are plain C structs");
  static_assert(std::is_same_v<decltype(Opts::sz), std::size_t>,
                "libbpf opts structs start with `size_t sz`");

  LibbpfOpts() noexcept {
    static_assert(sizeof(LibbpfOpts) == sizeof(Opts), "libbpf sees exactly an Opts");
    std::memset(static_cast<Opts*>(this), 0, sizeof(Opts));
    this->sz = sizeof(Opts);
  }
  LibbpfOpts(const LibbpfOpts&) = delete;
  LibbpfOpts& operator=(const LibbpfOpts&) = delete;
};

}  // namespace bngkit::ebpfkit
