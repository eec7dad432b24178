// libbpf "opts" structs (bpf_map_batch_opts, bpf_tc_hook, ...) made ready for use from C++.
#pragma once

#include <cstddef>
#include <cstring>
#include <type_traits>

namespace bngkit::ebpfkit {

/// A libbpf opts struct as libbpf's `LIBBPF_OPTS(TYPE, name)` macro makes it: every byte
/// zero, padding included, and `sz` set to `sizeof(Opts)`; set the other fields by name
/// afterwards. The macro itself is C (a compound literal inside a GNU statement expression)
/// and -Wpedantic rejects it in C++. Padding matters: libbpf tells from `sz` which fields
/// the caller knows and refuses (EINVAL) opts whose bytes after the last field it knows,
/// tail padding included, are not zero.
///
///     auto hook = ebpfkit::libbpf_opts<bpf_tc_hook>();
///     hook.ifindex = ifindex;
///     hook.attach_point = BPF_TC_INGRESS;
template <typename Opts>
[[nodiscard]] Opts libbpf_opts() noexcept {
  static_assert(std::is_trivially_copyable_v<Opts> && std::is_standard_layout_v<Opts>,
                "libbpf opts structs are plain C structs");
  static_assert(std::is_same_v<decltype(Opts::sz), std::size_t>,
                "libbpf opts structs start with `size_t sz`");
  Opts opts;
  std::memset(&opts, 0, sizeof opts);
  opts.sz = sizeof opts;
  return opts;
}

}  // namespace bngkit::ebpfkit
