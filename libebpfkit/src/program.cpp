// Program view, program handles and program info.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <bngkit/ebpfkit/program.hpp>
#include <cstring>

#include "internal.hpp"

namespace bngkit::ebpfkit {

Result<ProgramInfo> program_info(int fd) {
  if (auto k = detail::expect_fd_kind(fd, "bpf-prog"); !k) return k.error();
  bpf_prog_info raw{};
  std::uint32_t len = sizeof(raw);
  int rc = bpf_obj_get_info_by_fd(fd, &raw, &len);
  if (rc != 0) return detail::bpf_error(rc, "reading info of BPF program fd {}", fd);
  ProgramInfo info;
  info.name.assign(raw.name, strnlen(raw.name, sizeof(raw.name)));
  info.type = static_cast<bpf_prog_type>(raw.type);
  info.id = raw.id;
  std::memcpy(info.tag.data(), raw.tag, info.tag.size());
  info.xlated_len = raw.xlated_prog_len;
  info.jited_len = raw.jited_prog_len;
  info.run_cnt = raw.run_cnt;
  info.run_time_ns = raw.run_time_ns;
  info.recursion_misses = raw.recursion_misses;
  return info;
}

std::string_view Program::name() const noexcept { return bpf_program__name(prog_); }
std::string_view Program::section() const noexcept { return bpf_program__section_name(prog_); }
bpf_prog_type Program::type() const noexcept { return bpf_program__type(prog_); }
int Program::fd() const noexcept { return bpf_program__fd(prog_); }

Result<void> Program::set_type(bpf_prog_type type) {
  int rc = bpf_program__set_type(prog_, type);
  if (rc != 0)
    return detail::bpf_error(rc, "setting type of program '{}' (already loaded?)", name());
  return ok();
}

Result<void> Program::set_autoload(bool autoload) {
  int rc = bpf_program__set_autoload(prog_, autoload);
  if (rc != 0) {
    return detail::bpf_error(rc, "setting autoload of program '{}' (already loaded?)", name());
  }
  return ok();
}

Result<ProgramInfo> Program::info() const {
  if (!loaded()) {
    return make_error(std::errc::invalid_argument,
                      fmt::format("program '{}' is not loaded", name()));
  }
  return program_info(fd());
}

Result<ProgramHandle> ProgramHandle::borrow(int fd) {
  auto info = program_info(fd);
  if (!info) return info.error();
  return ProgramHandle(fd, UniqueFd{}, std::move(info).value());
}

Result<ProgramHandle> ProgramHandle::adopt(UniqueFd fd) {
  auto info = program_info(fd.get());
  if (!info) return info.error();
  int raw = fd.get();
  return ProgramHandle(raw, std::move(fd), std::move(info).value());
}

Result<ProgramHandle> ProgramHandle::from_id(std::uint32_t id) {
  int fd = bpf_prog_get_fd_by_id(id);
  if (fd < 0) return detail::bpf_error(fd, "opening BPF program id {}", id);
  return adopt(UniqueFd(fd));
}

}  // namespace bngkit::ebpfkit
