// TC eBPF engine: loads fanout_tc.bpf.c (embedded skeleton) with pinned maps, attaches
// it to the listener's interface, publishes downstream sets by swapping inner maps, and
// reads the per-CPU counters.
#include "tc_engine.hpp"

#include <bngkit/ebpfkit/pin.hpp>
#include <bngkit/fanout/selector.hpp>
#include <bngkit/fanout/stats.hpp>

#include <arpa/inet.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "fanout_tc.skel.h"

namespace bngkit::fanout {

static_assert(sizeof(fanout_listener_key) == 8);
static_assert(sizeof(fanout_listener) == 8);
static_assert(sizeof(fanout_target) == 8);
static_assert(sizeof(fanout_set) == 8 + 8 * FANOUT_MAX_DOWNSTREAMS + FANOUT_TABLE_SIZE + 3);
static_assert(sizeof(fanout_stats) == 8 * (4 + FANOUT_DROP_REASONS));
static_assert(FANOUT_DROP_REASONS == kDropReasonCount);
static_assert(FANOUT_DROP_NO_DOWNSTREAM == static_cast<int>(DropReason::no_downstream));
static_assert(FANOUT_DROP_RECEIVE_QUEUE_FULL == static_cast<int>(DropReason::receive_queue_full));
static_assert(FANOUT_DROP_TRUNCATED == static_cast<int>(DropReason::truncated));
static_assert(FANOUT_DROP_TOO_BIG == static_cast<int>(DropReason::too_big));
static_assert(FANOUT_DROP_SEND_ERROR == static_cast<int>(DropReason::send_error));
static_assert(FANOUT_DROP_NO_ROUTE == static_cast<int>(DropReason::no_route));
static_assert(FANOUT_DROP_REDIRECT_FAILED == static_cast<int>(DropReason::redirect_failed));
static_assert(FANOUT_DROP_MALFORMED == static_cast<int>(DropReason::malformed));
static_assert(FANOUT_POLICY_REPLICATE == static_cast<int>(Policy::replicate));
static_assert(FANOUT_POLICY_BALANCE == static_cast<int>(Policy::balance));
static_assert(FANOUT_BALANCE_ROUND_ROBIN == static_cast<int>(BalanceMethod::round_robin));
static_assert(FANOUT_BALANCE_FLOW_HASH == static_cast<int>(BalanceMethod::flow_hash));

namespace {

// Where our filter sits on clsact ingress: first (other filters see what we pass on,
// TC_ACT_UNSPEC), at a fixed handle so a restarted daemon replaces it in place.
constexpr std::uint32_t kTcPriority = 1;
constexpr std::uint32_t kTcHandle = 0xfa0;
constexpr const char* kPinnedMaps[] = {"fanout_listeners", "fanout_sets", "fanout_stats"};
// Inner maps per listener, used in turn, and how long one swapped out stays untouched
// before it is rewritten: a burst of changes (EndpointSlice churn) waits only after
// kSetMaps - 1 changes within kSetReuseDelay.
constexpr std::size_t kSetMaps = 4;
constexpr auto kSetReuseDelay = std::chrono::milliseconds(10);

Result<void> require_forwarding(const std::string& ifname) {
  // bpf_fib_lookup() answers "forwarding disabled" otherwise: the program forwards.
  const std::string path = "/proc/sys/net/ipv4/conf/" + ifname + "/forwarding";
  std::ifstream in(path);
  int on = 0;
  if (!(in >> on)) return make_error(std::errc::no_such_device, "cannot read " + path);
  if (on == 0) {
    return Error{{},
                 "IPv4 forwarding is off on " + ifname + " (net.ipv4.conf." + ifname +
                     ".forwarding=0); the TC engine forwards datagrams, so it needs it on"};
  }
  return ok();
}

ListenerStats to_listener_stats(const fanout_stats& s) {
  ListenerStats out;
  out.received_packets = s.rx_packets;
  out.received_bytes = s.rx_bytes;
  out.forwarded_packets = s.fwd_packets;
  out.forwarded_bytes = s.fwd_bytes;
  for (std::size_t i = 0; i < kDropReasonCount; ++i) out.dropped[i] = s.drops[i];
  return out;
}

ListenerStats minus(const ListenerStats& a, const ListenerStats& b) {
  ListenerStats out;
  out.received_packets = a.received_packets - b.received_packets;
  out.received_bytes = a.received_bytes - b.received_bytes;
  out.forwarded_packets = a.forwarded_packets - b.forwarded_packets;
  out.forwarded_bytes = a.forwarded_bytes - b.forwarded_bytes;
  for (std::size_t i = 0; i < kDropReasonCount; ++i) out.dropped[i] = a.dropped[i] - b.dropped[i];
  return out;
}

class TcEngine final : public Engine {
 public:
  TcEngine(ListenerConfig config, std::uint32_t index, std::shared_ptr<TcDataplane> dataplane)
      : config_(std::move(config)), index_(index), dp_(std::move(dataplane)) {
    key_.addr_be = config_.bind.address_be;
    key_.port_be = htons(config_.bind.port);
    value_.index = index_;
    value_.policy = static_cast<std::uint8_t>(config_.policy);
    value_.balance = static_cast<std::uint8_t>(config_.balance);
    // The stack's share (fragments, IP options, traffic from other interfaces or this
    // host) is relayed by a userspace socket on the same address.
    auto backstop = config_;
    backstop.settings.workers = 1;
    backstop_ = make_userspace_engine(backstop);
  }
  ~TcEngine() override { stop(); }

  [[nodiscard]] Mode mode() const noexcept override { return Mode::tc_ebpf; }
  Result<void> start() override;
  void stop() noexcept override;
  [[nodiscard]] bool running() const noexcept override;
  Result<void> set_downstreams(std::span<const Endpoint> active) override;
  [[nodiscard]] ListenerStats stats() const override;

 private:
  [[nodiscard]] Result<ListenerStats> kernel_stats() const {
    auto s =
        dp_->stats().aggregate(index_, fanout_stats{}, [](fanout_stats a, const fanout_stats& b) {
          a.rx_packets += b.rx_packets;
          a.rx_bytes += b.rx_bytes;
          a.fwd_packets += b.fwd_packets;
          a.fwd_bytes += b.fwd_bytes;
          for (std::size_t i = 0; i < FANOUT_DROP_REASONS; ++i) a.drops[i] += b.drops[i];
          return a;
        });
    if (!s) return s.error();
    return to_listener_stats(*s);
  }

  ListenerConfig config_;
  std::uint32_t index_;
  std::shared_ptr<TcDataplane> dp_;
  std::shared_ptr<ebpfkit::TcAttachment> hook_;
  std::unique_ptr<Engine> backstop_;
  fanout_listener_key key_{};
  fanout_listener value_{};
  ListenerStats baseline_;  // pinned counters carry a previous run's totals
  // Inner maps created at start while the daemon still holds CAP_BPF (creating a map
  // needs it, writing one through its fd does not): a change fills one the program does
  // not use and swaps it in with one update of the outer map, so the program sees the old
  // set or the new one, never a mix.
  std::vector<ebpfkit::MapHandle> set_maps_;
  std::array<std::chrono::steady_clock::time_point, kSetMaps> retired_at_{};
  std::size_t active_set_ = kSetMaps - 1;  // the first change fills set_maps_[0]
  bool started_ = false;
  bool listed_ = false;  // our key is in fanout_listeners
};

Result<void> TcEngine::start() {
  if (started_) return ok();
  if (index_ >= FANOUT_MAX_LISTENERS) {
    return Error{
        {}, "the TC engine serves at most " + std::to_string(FANOUT_MAX_LISTENERS) + " listeners"};
  }
  if (auto ifindex = ebpfkit::interface_index(config_.interface); !ifindex) return ifindex.error();
  if (auto r = require_forwarding(config_.interface); !r) return r;
  set_maps_.clear();
  for (std::size_t i = 0; i < kSetMaps; ++i) {
    auto inner = ebpfkit::MapHandle::create(BPF_MAP_TYPE_ARRAY, "fanout_set", sizeof(std::uint32_t),
                                            sizeof(fanout_set), 1);
    if (!inner) return inner.error();
    set_maps_.push_back(std::move(inner).value());
  }
  auto hook = dp_->attach(config_.interface);
  if (!hook) return hook.error();
  auto base = kernel_stats();
  if (!base) return base.error();
  if (auto r = backstop_->start(); !r) return r;
  hook_ = std::move(hook).value();
  baseline_ = *base;
  started_ = true;
  spdlog::info("listener {}: TC eBPF engine on {} ingress for {} (program id {})", config_.name,
               config_.interface, config_.bind.to_string(), hook_->program_id());
  return ok();
}

void TcEngine::stop() noexcept {
  if (!started_) return;
  started_ = false;
  if (!dp_->config().keep_attached && listed_) {
    (void)dp_->listeners().erase(key_);
    (void)dp_->sets().erase(index_);
    listed_ = false;
  }
  hook_.reset();  // the last listener on the interface detaches (or releases) the filter
  backstop_->stop();
}

bool TcEngine::running() const noexcept {
  if (!started_ || !hook_ || !backstop_->running()) return false;
  auto attached = hook_->still_attached();
  return attached.ok() && *attached;
}

Result<void> TcEngine::set_downstreams(std::span<const Endpoint> active) {
  if (active.size() > kMaxDownstreamsTc) {
    return make_error(std::errc::argument_list_too_long,
                      "listener " + config_.name + ": " + std::to_string(active.size()) +
                          " downstreams, the TC engine takes at most " +
                          std::to_string(kMaxDownstreamsTc));
  }
  fanout_set set{};
  set.count = static_cast<std::uint32_t>(active.size());
  std::vector<std::uint64_t> keys;
  for (std::size_t i = 0; i < active.size(); ++i) {
    set.targets[i].addr_be = active[i].address_be;
    set.targets[i].port_be = htons(active[i].port);
    keys.push_back(endpoint_key(active[i]));
  }
  const auto table = build_lookup_table(keys);
  std::copy(table.begin(), table.end(), set.table);

  if (set_maps_.size() != kSetMaps) {
    return make_error(std::errc::operation_not_permitted,
                      "listener " + config_.name + ": TC engine not started");
  }
  // A program run that looked a map up just before it was swapped out may still be
  // reading it; runs last microseconds, so it is rewritten only after kSetReuseDelay.
  const std::size_t next = (active_set_ + 1) % kSetMaps;
  std::this_thread::sleep_until(retired_at_[next] + kSetReuseDelay);
  const std::uint32_t zero = 0;
  if (auto r = set_maps_[next].update_bytes(&zero, &set); !r) return r;
  if (auto r = dp_->sets().update(index_, static_cast<std::uint32_t>(set_maps_[next].fd())); !r) {
    return r;
  }
  retired_at_[active_set_] = std::chrono::steady_clock::now();
  active_set_ = next;
  // Listed only once it has a set: until then a restarted daemon's predecessor entry
  // (same key, its own set) keeps delivering.
  if (!listed_) {
    if (auto r = dp_->listeners().update(key_, value_); !r) return r;
    listed_ = true;
  }
  return backstop_->set_downstreams(active);
}

ListenerStats TcEngine::stats() const {
  ListenerStats s = backstop_->stats();
  s.slow_path_packets = s.received_packets;
  if (auto k = kernel_stats()) s += minus(*k, baseline_);
  return s;
}

}  // namespace

Result<std::shared_ptr<TcDataplane>> TcDataplane::open(const TcConfig& tc) {
  if (auto r = ebpfkit::require_bpffs(tc.pin_path); !r) return r.error();
  ebpfkit::ObjectOptions opts;
  opts.pin_root = tc.pin_path;
  auto obj = BNGKIT_EBPFKIT_OPEN_SKELETON(fanout_tc, opts);
  if (!obj) return obj.error();
  // libbpf pins the maps before it loads the program: if the kernel then rejects the
  // program, the pins this attempt created must not linger.
  std::vector<std::string> created;
  for (const char* name : kPinnedMaps) {
    const std::string path = tc.pin_path + "/" + name;
    if (!std::filesystem::exists(path)) created.push_back(path);
  }
  if (auto r = obj->load(); !r) {
    for (const auto& path : created) (void)ebpfkit::unpin(path);
    std::error_code ec;
    std::filesystem::remove(tc.pin_path, ec);  // only when empty
    return r.error();
  }
  std::shared_ptr<TcDataplane> dp(new TcDataplane());
  dp->tc_ = tc;
  dp->object_ = std::make_unique<ebpfkit::Object>(std::move(obj).value());
  auto listeners =
      dp->object_->map_as<ebpfkit::Map<fanout_listener_key, fanout_listener>>("fanout_listeners");
  if (!listeners) return listeners.error();
  auto sets = dp->object_->map_as<ebpfkit::Map<std::uint32_t, std::uint32_t>>("fanout_sets");
  if (!sets) return sets.error();
  auto stats = dp->object_->map_as<ebpfkit::PerCpuMap<std::uint32_t, fanout_stats>>("fanout_stats");
  if (!stats) return stats.error();
  dp->listeners_ = std::make_unique<ebpfkit::Map<fanout_listener_key, fanout_listener>>(
      std::move(listeners).value());
  dp->sets_ = std::make_unique<ebpfkit::Map<std::uint32_t, std::uint32_t>>(std::move(sets).value());
  dp->stats_ =
      std::make_unique<ebpfkit::PerCpuMap<std::uint32_t, fanout_stats>>(std::move(stats).value());
  return dp;
}

TcDataplane::~TcDataplane() {
  if (tc_.keep_attached) return;
  // Detached by now (attachments hold this object): the pins go, so nothing lingers.
  for (const char* name : kPinnedMaps) (void)ebpfkit::unpin(tc_.pin_path + "/" + name);
  std::error_code ec;
  std::filesystem::remove(tc_.pin_path, ec);  // only when empty
}

Result<std::shared_ptr<ebpfkit::TcAttachment>> TcDataplane::attach(const std::string& ifname) {
  std::lock_guard lock(mutex_);
  if (auto existing = hooks_[ifname].lock()) return existing;
  auto prog = object_->program("fanout_ingress");
  if (!prog) return prog.error();
  ebpfkit::TcAttachOptions opts;
  opts.direction = ebpfkit::TcDirection::ingress;
  opts.priority = kTcPriority;
  opts.handle = kTcHandle;
  opts.replace = true;  // take over from a predecessor left attached (keep_attached)
  auto a = ebpfkit::TcAttachment::attach(ifname, *prog, opts);
  if (!a) return a.error();
  const bool keep = tc_.keep_attached;
  std::shared_ptr<ebpfkit::TcAttachment> hook(
      new ebpfkit::TcAttachment(std::move(a).value()), [keep](ebpfkit::TcAttachment* p) {
        if (keep) p->release();  // stays attached for the next instance to take over
        delete p;
      });
  hooks_[ifname] = hook;
  return hook;
}

void TcDataplane::prune_listeners(const std::vector<fanout_listener_key>& keep) {
  auto keys = listeners_->keys();
  if (!keys) return;
  for (const auto& k : *keys) {
    const bool wanted = std::any_of(keep.begin(), keep.end(), [&](const fanout_listener_key& w) {
      return w.addr_be == k.addr_be && w.port_be == k.port_be;
    });
    if (!wanted) (void)listeners_->erase(k);
  }
}

Result<std::unique_ptr<Engine>> make_tc_engine(const ListenerConfig& listener, std::uint32_t index,
                                               std::shared_ptr<TcDataplane> dataplane) {
  if (!dataplane) {
    return make_error(std::errc::invalid_argument, "TC engine without a loaded program");
  }
  return std::unique_ptr<Engine>(new TcEngine(listener, index, std::move(dataplane)));
}

}  // namespace bngkit::fanout
