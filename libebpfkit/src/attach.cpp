// XDP and TC attachments.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <net/if.h>

#include <bngkit/ebpfkit/attach.hpp>
#include <bngkit/ebpfkit/libbpf_opts.hpp>
#include <map>
#include <mutex>
#include <tuple>
#include <vector>

#include "internal.hpp"
#include "netns.hpp"

namespace bngkit::ebpfkit {
namespace {

std::string ifname_of(unsigned ifindex) {
  char buf[IF_NAMESIZE] = {};
  if (::if_indextoname(ifindex, buf) == nullptr) return fmt::format("ifindex {}", ifindex);
  return fmt::format("{} (ifindex {})", buf, ifindex);
}

// Our own reference to the program, plus its kernel info.
Result<std::pair<UniqueFd, ProgramInfo>> own_program(ProgramRef prog, bpf_prog_type want,
                                                     const char* what) {
  if (prog.fd() < 0) {
    return make_error(std::errc::bad_file_descriptor,
                      fmt::format("{} attach: program has no fd (object not loaded?)", what));
  }
  auto info = program_info(prog.fd());
  if (!info) return info.error();
  if (info->type != want) {
    return make_error(
        std::errc::invalid_argument,
        fmt::format("{} attach: program '{}' has type {}, not {}", what, info->name,
                    libbpf_bpf_prog_type_str(info->type), libbpf_bpf_prog_type_str(want)));
  }
  UniqueFd fd(::fcntl(prog.fd(), F_DUPFD_CLOEXEC, 3));
  if (!fd) return errno_error(errno, "duplicating program fd");
  return std::make_pair(std::move(fd), std::move(info).value());
}

std::uint32_t mode_flag(XdpMode m) {
  return m == XdpMode::native ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
}

std::uint32_t id_in_mode(const XdpQuery& q, XdpMode m) {
  return m == XdpMode::native ? q.native_id : q.generic_id;
}

bool interface_gone(int err) { return err == ENODEV || err == ENXIO; }

}  // namespace

Result<unsigned> interface_index(std::string_view name) {
  std::string n(name);
  if (n.empty() || n.size() >= IF_NAMESIZE) {
    return make_error(std::errc::no_such_device,
                      fmt::format("no network interface named '{}' (bad name)", name));
  }
  unsigned idx = ::if_nametoindex(n.c_str());
  if (idx == 0) {
    return errno_error(errno == 0 ? ENODEV : errno,
                       fmt::format("no network interface named '{}'", name));
  }
  return idx;
}

std::string_view to_string(XdpMode mode) noexcept {
  switch (mode) {
    case XdpMode::native:
      return "native";
    case XdpMode::generic:
      return "generic";
    case XdpMode::automatic:
      break;
  }
  return "automatic";
}

Result<XdpQuery> xdp_query(unsigned ifindex) {
  LibbpfOpts<bpf_xdp_query_opts> q;
  int rc = bpf_xdp_query(static_cast<int>(ifindex), 0, &q);
  if (rc != 0) return detail::bpf_error(rc, "querying XDP on {}", ifname_of(ifindex));
  return XdpQuery{q.drv_prog_id, q.skb_prog_id, q.hw_prog_id};
}

Result<bool> xdp_detach_id(unsigned ifindex, std::uint32_t prog_id) {
  auto q = xdp_query(ifindex);
  if (!q) return q.error();
  for (XdpMode m : {XdpMode::native, XdpMode::generic}) {
    if (prog_id == 0 || id_in_mode(*q, m) != prog_id) continue;
    int pfd = bpf_prog_get_fd_by_id(prog_id);
    if (pfd < 0) return detail::bpf_error(pfd, "opening the attached XDP program id {}", prog_id);
    UniqueFd prog(pfd);
    // REPLACE with old_prog_fd: only removes it if it is still the attached one.
    LibbpfOpts<bpf_xdp_attach_opts> ao;
    ao.old_prog_fd = prog.get();
    int rc = bpf_xdp_detach(static_cast<int>(ifindex), mode_flag(m) | XDP_FLAGS_REPLACE, &ao);
    if (rc != 0) {
      return detail::bpf_error(rc, "detaching XDP program id {} from {}", prog_id,
                               ifname_of(ifindex));
    }
    return true;
  }
  return false;
}

// --- XdpAttachment ---------------------------------------------------------------

Result<XdpAttachment> XdpAttachment::attach(std::string_view ifname, ProgramRef prog,
                                            const XdpAttachOptions& opts) {
  auto idx = interface_index(ifname);
  if (!idx) return Error{idx.error().code, "XDP attach: " + idx.error().context};
  return attach(*idx, prog, opts);
}

Result<XdpAttachment> XdpAttachment::attach(unsigned ifindex, ProgramRef prog,
                                            const XdpAttachOptions& opts) {
  auto own = own_program(prog, BPF_PROG_TYPE_XDP, "XDP");
  if (!own) return own.error();
  auto q = xdp_query(ifindex);
  if (!q) return q.error();

  // Native and generic programs cannot coexist: in automatic mode follow what is there.
  std::vector<XdpMode> modes;
  switch (opts.mode) {
    case XdpMode::native:
      modes = {XdpMode::native};
      break;
    case XdpMode::generic:
      modes = {XdpMode::generic};
      break;
    case XdpMode::automatic:
      if (q->generic_id != 0 && q->native_id == 0) {
        modes = {XdpMode::generic};
      } else {
        modes = {XdpMode::native, XdpMode::generic};
      }
      break;
  }

  Error last;
  for (XdpMode m : modes) {
    std::uint32_t existing = id_in_mode(*q, m);
    UniqueFd prev;
    if (existing != 0) {
      if (!opts.replace) {
        return make_error(std::errc::file_exists,
                          fmt::format("XDP attach: {} already runs XDP program id {} in {} mode",
                                      ifname_of(ifindex), existing, to_string(m)));
      }
      int pfd = bpf_prog_get_fd_by_id(existing);
      if (pfd < 0)
        return detail::bpf_error(pfd, "opening the attached XDP program id {}", existing);
      prev.reset(pfd);
    }
    LibbpfOpts<bpf_xdp_attach_opts> ao;
    ao.old_prog_fd = prev ? prev.get() : 0;
    std::uint32_t flags = mode_flag(m) | (prev ? XDP_FLAGS_REPLACE : XDP_FLAGS_UPDATE_IF_NOEXIST);
    int rc = bpf_xdp_attach(static_cast<int>(ifindex), own->first.get(), flags, &ao);
    if (rc == 0) {
      XdpAttachment a;
      a.prog_ = std::move(own->first);
      a.prev_ = std::move(prev);
      a.netns_ = detail::current_netns();
      a.ifindex_ = ifindex;
      a.mode_ = m;
      a.prog_id_ = own->second.id;
      a.prev_id_ = existing;
      return a;
    }
    const char* hint = "";
    if (-rc == EEXIST) hint = " (another XDP program in the other mode, or it changed meanwhile)";
    if (-rc == EOPNOTSUPP) hint = " (driver lacks native XDP; use generic)";
    last = detail::bpf_error(rc, "XDP attach of program '{}' to {} in {} mode{}", own->second.name,
                             ifname_of(ifindex), to_string(m), hint);
    bool try_next = opts.mode == XdpMode::automatic && m == XdpMode::native &&
                    (-rc == EOPNOTSUPP || -rc == EINVAL);
    if (!try_next) break;
  }
  return last;
}

XdpAttachment::XdpAttachment(XdpAttachment&& o) noexcept
    : prog_(std::move(o.prog_)),
      prev_(std::move(o.prev_)),
      netns_(std::move(o.netns_)),
      ifindex_(o.ifindex_),
      mode_(o.mode_),
      prog_id_(o.prog_id_),
      prev_id_(o.prev_id_) {}

XdpAttachment& XdpAttachment::operator=(XdpAttachment&& o) noexcept {
  if (this != &o) {
    (void)detach();
    prog_ = std::move(o.prog_);
    prev_ = std::move(o.prev_);
    netns_ = std::move(o.netns_);
    ifindex_ = o.ifindex_;
    mode_ = o.mode_;
    prog_id_ = o.prog_id_;
    prev_id_ = o.prev_id_;
  }
  return *this;
}

XdpAttachment::~XdpAttachment() { (void)detach(); }

Result<bool> XdpAttachment::still_attached() const {
  if (!prog_) return false;
  detail::NetnsSwitch sw(netns_.get());
  auto q = xdp_query(ifindex_);
  if (!q) {
    if (interface_gone(q.error().code.value())) return false;
    return q.error();
  }
  return id_in_mode(*q, mode_) == prog_id_;
}

Result<void> XdpAttachment::detach() {
  if (!prog_) return ok();
  detail::NetnsSwitch sw(netns_.get());
  auto mine = still_attached();
  Result<void> result = ok();
  if (!mine) {
    result = mine.error();
  } else if (*mine) {
    LibbpfOpts<bpf_xdp_attach_opts> ao;
    ao.old_prog_fd = prog_.get();
    std::uint32_t flags = mode_flag(mode_) | XDP_FLAGS_REPLACE;
    int rc = prev_ ? bpf_xdp_attach(static_cast<int>(ifindex_), prev_.get(), flags, &ao)
                   : bpf_xdp_detach(static_cast<int>(ifindex_), flags, &ao);
    if (rc != 0 && !interface_gone(-rc)) {
      result = detail::bpf_error(rc, "XDP detach from {} ({})", ifname_of(ifindex_),
                                 prev_ ? "restoring the previous program" : "removing ours");
    }
  }
  prog_.reset();
  prev_.reset();
  netns_.reset();
  return result;
}

void XdpAttachment::release() noexcept {
  prog_.reset();
  prev_.reset();
  netns_.reset();
}

// --- TcAttachment ----------------------------------------------------------------

namespace {

bpf_tc_attach_point attach_point(TcDirection d) {
  return d == TcDirection::ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS;
}
const char* dir_name(TcDirection d) { return d == TcDirection::ingress ? "ingress" : "egress"; }

// clsact qdiscs this process created, shared by its TcAttachments on one interface: the
// qdisc goes when the last of them detaches (and stays when one was released).
struct ClsactUse {
  int users = 0;
  bool created = false;
};
std::mutex g_clsact_mu;
std::map<std::tuple<dev_t, ino_t, unsigned>, ClsactUse> g_clsact;

std::tuple<dev_t, ino_t, unsigned> clsact_key(int netns, unsigned ifindex) {
  auto id = detail::ns_id(netns);
  return {id.dev, id.ino, ifindex};
}

// Drops one user; returns true when the caller should destroy the qdisc.
bool clsact_release(int netns, unsigned ifindex, bool keep) {
  std::lock_guard lock(g_clsact_mu);
  auto it = g_clsact.find(clsact_key(netns, ifindex));
  if (it == g_clsact.end()) return false;
  if (keep) it->second.created = false;  // a released filter needs its qdisc
  bool destroy = --it->second.users == 0 && it->second.created;
  if (it->second.users == 0) g_clsact.erase(it);
  return destroy;
}

void destroy_clsact(unsigned ifindex) {
  LibbpfOpts<bpf_tc_hook> hook;
  hook.ifindex = static_cast<int>(ifindex);
  hook.attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS);
  (void)bpf_tc_hook_destroy(&hook);
}

}  // namespace

Result<std::uint32_t> tc_query(unsigned ifindex, TcDirection direction, std::uint32_t priority,
                               std::uint32_t handle) {
  LibbpfOpts<bpf_tc_hook> hook;
  hook.ifindex = static_cast<int>(ifindex);
  hook.attach_point = attach_point(direction);
  LibbpfOpts<bpf_tc_opts> q;
  q.handle = handle;
  q.priority = priority;
  int rc = bpf_tc_query(&hook, &q);
  if (rc == -ENOENT || rc == -EINVAL) return 0U;  // no filter (EINVAL: no clsact qdisc)
  if (rc != 0) {
    return detail::bpf_error(rc, "querying TC {} filter prio {} handle {} on {}",
                             dir_name(direction), priority, handle, ifname_of(ifindex));
  }
  return q.prog_id;
}

Result<TcAttachment> TcAttachment::attach(std::string_view ifname, ProgramRef prog,
                                          const TcAttachOptions& opts) {
  auto idx = interface_index(ifname);
  if (!idx) return Error{idx.error().code, "TC attach: " + idx.error().context};
  return attach(*idx, prog, opts);
}

Result<TcAttachment> TcAttachment::attach(unsigned ifindex, ProgramRef prog,
                                          const TcAttachOptions& opts) {
  auto own = own_program(prog, BPF_PROG_TYPE_SCHED_CLS, "TC");
  if (!own) return own.error();
  if (opts.replace && (opts.priority == 0 || opts.handle == 0)) {
    return make_error(std::errc::invalid_argument,
                      "TC attach: replace needs an explicit priority and handle");
  }
  UniqueFd netns = detail::current_netns();
  LibbpfOpts<bpf_tc_hook> hook;
  hook.ifindex = static_cast<int>(ifindex);
  hook.attach_point = attach_point(opts.direction);
  bool created = false;
  {
    std::lock_guard lock(g_clsact_mu);
    int rc = bpf_tc_hook_create(&hook);
    if (rc != 0 && rc != -EEXIST) {
      const char* hint = -rc == ENODEV ? " (no such interface)" : "";
      return detail::bpf_error(rc, "TC attach: creating clsact qdisc on {}{}", ifname_of(ifindex),
                               hint);
    }
    created = rc == 0;
    ClsactUse& use = g_clsact[clsact_key(netns.get(), ifindex)];
    ++use.users;
    use.created = use.created || created;
  }
  const std::uint32_t tc_flags = opts.replace ? static_cast<std::uint32_t>(BPF_TC_F_REPLACE) : 0U;
  LibbpfOpts<bpf_tc_opts> to;
  to.prog_fd = own->first.get();
  to.flags = tc_flags;
  to.handle = opts.handle;
  to.priority = opts.priority;
  int rc = bpf_tc_attach(&hook, &to);
  if (rc != 0) {
    if (clsact_release(netns.get(), ifindex, false)) destroy_clsact(ifindex);
    const char* hint = -rc == EEXIST ? " (a filter already sits at this priority/handle)" : "";
    return detail::bpf_error(rc, "TC attach of program '{}' to {} {}{}", own->second.name,
                             ifname_of(ifindex), dir_name(opts.direction), hint);
  }
  TcAttachment a;
  a.prog_ = std::move(own->first);
  a.netns_ = std::move(netns);
  a.ifindex_ = ifindex;
  a.direction_ = opts.direction;
  a.priority_ = to.priority;
  a.handle_ = to.handle;
  a.prog_id_ = to.prog_id != 0 ? to.prog_id : own->second.id;
  a.created_qdisc_ = created;
  return a;
}

TcAttachment::TcAttachment(TcAttachment&& o) noexcept
    : prog_(std::move(o.prog_)),
      netns_(std::move(o.netns_)),
      ifindex_(o.ifindex_),
      direction_(o.direction_),
      priority_(o.priority_),
      handle_(o.handle_),
      prog_id_(o.prog_id_),
      created_qdisc_(o.created_qdisc_) {}

TcAttachment& TcAttachment::operator=(TcAttachment&& o) noexcept {
  if (this != &o) {
    (void)detach();
    prog_ = std::move(o.prog_);
    netns_ = std::move(o.netns_);
    ifindex_ = o.ifindex_;
    direction_ = o.direction_;
    priority_ = o.priority_;
    handle_ = o.handle_;
    prog_id_ = o.prog_id_;
    created_qdisc_ = o.created_qdisc_;
  }
  return *this;
}

TcAttachment::~TcAttachment() { (void)detach(); }

Result<bool> TcAttachment::still_attached() const {
  if (!prog_) return false;
  detail::NetnsSwitch sw(netns_.get());
  auto id = tc_query(ifindex_, direction_, priority_, handle_);
  if (!id) {
    if (interface_gone(id.error().code.value())) return false;
    return id.error();
  }
  return *id == prog_id_;
}

Result<void> TcAttachment::detach() {
  if (!prog_) return ok();
  detail::NetnsSwitch sw(netns_.get());
  Result<void> result = ok();
  auto mine = still_attached();
  if (!mine) {
    result = mine.error();
  } else if (*mine) {
    LibbpfOpts<bpf_tc_hook> hook;
    hook.ifindex = static_cast<int>(ifindex_);
    hook.attach_point = attach_point(direction_);
    LibbpfOpts<bpf_tc_opts> d;
    d.handle = handle_;
    d.priority = priority_;
    int rc = bpf_tc_detach(&hook, &d);
    if (rc != 0 && rc != -ENOENT && !interface_gone(-rc)) {
      result =
          detail::bpf_error(rc, "TC detach from {} {}", ifname_of(ifindex_), dir_name(direction_));
    }
  }
  if (clsact_release(netns_.get(), ifindex_, false)) destroy_clsact(ifindex_);
  prog_.reset();
  netns_.reset();
  return result;
}

void TcAttachment::release() noexcept {
  if (!prog_) return;
  (void)clsact_release(netns_.get(), ifindex_, true);
  prog_.reset();
  netns_.reset();
}

}  // namespace bngkit::ebpfkit
