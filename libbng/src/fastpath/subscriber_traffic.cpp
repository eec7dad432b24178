// SubscriberTraffic: loads the embedded subscriber_tc skeleton through ebpfkit, keeps the
// policy and counter maps, attaches the two clsact filters and sums per-CPU counters.
// The conversion between RatePolicy/TrafficCounters and the kernel ABI lives in the
// "ABI conversion" block.
#include <bngkit/bng/fastpath/subscriber_traffic_abi.h>
#include <bpf/libbpf.h>
#include <linux/pkt_cls.h>

#include <algorithm>
#include <bngkit/bng/fastpath/subscriber_traffic.hpp>
#include <bngkit/ebpfkit/attach.hpp>
#include <bngkit/ebpfkit/map.hpp>
#include <bngkit/ebpfkit/object.hpp>
#include <bngkit/ebpfkit/pin.hpp>
#include <bngkit/ebpfkit/test_run.hpp>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string_view>

#include "subscriber_tc.skel.h"

namespace bngkit::bng::fastpath {

static_assert(sizeof(bng_st_key) == 4);
static_assert(sizeof(bng_st_bucket) == 32);
static_assert(sizeof(bng_st_policy) == 72 && offsetof(bng_st_policy, up) == 8 &&
              offsetof(bng_st_policy, down) == 40);
static_assert(sizeof(bng_st_counters) == 64);
static_assert(sizeof(bng_st_stats) == 64);
static_assert(TC_ACT_UNSPEC == -1 && TC_ACT_SHOT == 2, "TrafficTestRun::passed() relies on these");

namespace {

using PolicyMap = ebpfkit::Map<bng_st_key, bng_st_policy>;
using CounterMap = ebpfkit::PerCpuMap<bng_st_key, bng_st_counters>;
using StatsMap = ebpfkit::PerCpuMap<std::uint32_t, bng_st_stats>;

// Default bucket: 250 ms at the rate, and room for at least one 64 KiB GSO aggregate.
// Policing TCP with a much smaller bucket costs it most of its throughput (measured in
// the netns test: about a third of the rate with 64 KB at 4 Mbit/s).
constexpr std::uint64_t kDefaultBurstMin = 64 * 1024;

// ---- ABI conversion --------------------------------------------------------------------

bng_st_key to_key(Ipv4 ip) noexcept { return bng_st_key{ip.to_be()}; }

std::uint64_t monotonic_now_ns() noexcept {
  // steady_clock is CLOCK_MONOTONIC on Linux, the clock of bpf_ktime_get_ns().
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::steady_clock::now().time_since_epoch());
  return static_cast<std::uint64_t>(ns.count());
}

// Burst for one direction: the configured one, or the default.
std::uint64_t resolved_burst(std::uint64_t rate_bps, std::uint64_t burst_bytes) noexcept {
  if (rate_bps == 0) return 0;
  if (burst_bytes != 0) return burst_bytes;
  return std::min<std::uint64_t>(std::max(rate_bps / 8 / 4, kDefaultBurstMin),
                                 BNG_ST_MAX_BURST_BYTES);
}

Result<void> validate(Ipv4 ip, const RatePolicy& p) {
  if (ip.is_unspecified()) {
    return make_error(std::errc::invalid_argument, "subscriber address 0.0.0.0");
  }
  for (auto [name, rate] : {std::pair{"up_bps", p.up_bps}, std::pair{"down_bps", p.down_bps}}) {
    if (rate > BNG_ST_MAX_RATE_BPS) {
      return make_error(std::errc::invalid_argument,
                        std::string("rate ") + name + " = " + std::to_string(rate) +
                            " bit/s is above the limit of 100 Gbit/s");
    }
  }
  if (p.burst_bytes > BNG_ST_MAX_BURST_BYTES) {
    return make_error(std::errc::invalid_argument,
                      "burst_bytes = " + std::to_string(p.burst_bytes) +
                          " is above the limit of 1 GiB (" +
                          std::to_string(BNG_ST_MAX_BURST_BYTES) + ")");
  }
  return ok();
}

// Sets one direction's bucket to `rate`/`burst`. A bucket that keeps being limited keeps
// its credit (the kernel clamps it to a smaller burst); a newly limited one starts full.
void set_bucket(bng_st_bucket& b, std::uint64_t rate, std::uint64_t burst, std::uint64_t now) {
  const bool was_limited = b.rate_bps != 0;
  b.rate_bps = rate;
  b.burst_bytes = resolved_burst(rate, burst);
  if (rate == 0 || !was_limited) {
    b.tokens_ns = std::numeric_limits<std::int64_t>::max();  // full: clamped to the burst
    b.last_ns = now;
  }
}

TrafficCounters from_abi(const bng_st_counters& c) noexcept {
  TrafficCounters t;
  t.packets_up = c.packets_up;
  t.octets_up = c.octets_up;
  t.packets_down = c.packets_down;
  t.octets_down = c.octets_down;
  t.dropped_up = c.dropped_packets_up;
  t.dropped_octets_up = c.dropped_octets_up;
  t.dropped_down = c.dropped_packets_down;
  t.dropped_octets_down = c.dropped_octets_down;
  return t;
}

// Field-wise sum of two per-CPU blocks whose fields are all __u64.
template <typename T>
T add_u64s(const T& a, const T& b) noexcept {
  static_assert(sizeof(T) % sizeof(std::uint64_t) == 0);
  constexpr std::size_t n = sizeof(T) / sizeof(std::uint64_t);
  std::uint64_t x[n];
  std::uint64_t y[n];
  std::memcpy(x, &a, sizeof(T));
  std::memcpy(y, &b, sizeof(T));
  for (std::size_t i = 0; i < n; ++i) x[i] += y[i];
  T out;
  std::memcpy(&out, x, sizeof(T));
  return out;
}

std::string hex(unsigned v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%x", v);
  return buf;
}

Error with_context(Error e, const std::string& what) {
  e.context = what + ": " + e.context;
  return e;
}

}  // namespace

TrafficCounters& TrafficCounters::operator+=(const TrafficCounters& o) noexcept {
  packets_up += o.packets_up;
  octets_up += o.octets_up;
  packets_down += o.packets_down;
  octets_down += o.octets_down;
  dropped_up += o.dropped_up;
  dropped_down += o.dropped_down;
  dropped_octets_up += o.dropped_octets_up;
  dropped_octets_down += o.dropped_octets_down;
  return *this;
}

struct SubscriberTraffic::Impl {
  Impl(SubscriberTrafficOptions o, ebpfkit::Object ob, PolicyMap p, CounterMap c, StatsMap s)
      : options(std::move(o)),
        obj(std::move(ob)),
        policies(std::move(p)),
        counters(std::move(c)),
        stats(std::move(s)) {}

  SubscriberTrafficOptions options;
  ebpfkit::Object obj;  // before the borrowed map handles below
  PolicyMap policies;
  CounterMap counters;
  StatsMap stats;
  std::optional<ebpfkit::TcAttachment> ingress;  // last: detach first
  std::optional<ebpfkit::TcAttachment> egress;

  // The policy entry read under the kernel's lock (BPF_F_LOCK).
  Result<std::optional<bng_st_policy>> read_policy(const bng_st_key& k) const {
    bng_st_policy v{};
    auto r = policies.handle().lookup_bytes(&k, &v, BPF_F_LOCK);
    if (!r) return r.error();
    if (!*r) return std::optional<bng_st_policy>{};
    return std::optional<bng_st_policy>{v};
  }

  Result<std::optional<TrafficCounters>> read_counters(const bng_st_key& k) const {
    auto per_cpu = counters.lookup(k);
    if (!per_cpu) return per_cpu.error();
    if (!*per_cpu) return std::optional<TrafficCounters>{};
    bng_st_counters sum{};
    for (const auto& c : **per_cpu) sum = add_u64s(sum, c);
    return std::optional<TrafficCounters>{from_abi(sum)};
  }
};

Result<SubscriberTraffic> SubscriberTraffic::create(const SubscriberTrafficOptions& options) {
  if (options.max_subscribers == 0) {
    return make_error(std::errc::invalid_argument, "max_subscribers must be at least 1");
  }
  if (!options.pin_dir.empty()) {
    if (auto r = ebpfkit::require_bpffs(options.pin_dir); !r) return r.error();
  }
  auto obj = BNGKIT_EBPFKIT_OPEN_SKELETON(subscriber_tc);
  if (!obj) return with_context(std::move(obj).error(), "opening the subscriber TC programs");

  // Sizes and pins are set before load; libbpf reuses a compatible pinned map.
  const std::pair<const char*, std::uint32_t> maps[] = {
      {BNG_ST_MAP_POLICY, options.max_subscribers},
      {BNG_ST_MAP_COUNTERS, options.max_subscribers},
      {BNG_ST_MAP_STATS, 0},  // 0: keep its size (one entry)
  };
  for (const auto& [name, entries] : maps) {
    if (auto r = obj->prepare_map(name, entries, options.pin_dir); !r) return r.error();
  }
  if (auto r = obj->load(); !r) {
    std::string what = "loading the subscriber TC programs";
    if (!options.pin_dir.empty()) {
      what += " (maps pinned in " + options.pin_dir +
              " must have the same capacity, max_subscribers = " +
              std::to_string(options.max_subscribers) + ")";
    }
    return with_context(r.error(), what);
  }

  auto policies = obj->map_as<PolicyMap>(BNG_ST_MAP_POLICY);
  if (!policies) return policies.error();
  auto counters = obj->map_as<CounterMap>(BNG_ST_MAP_COUNTERS);
  if (!counters) return counters.error();
  auto stats = obj->map_as<StatsMap>(BNG_ST_MAP_STATS);
  if (!stats) return stats.error();
  auto impl = std::make_unique<Impl>(options, std::move(obj).value(), std::move(policies).value(),
                                     std::move(counters).value(), std::move(stats).value());
  return SubscriberTraffic(std::move(impl));
}

SubscriberTraffic::SubscriberTraffic(std::unique_ptr<Impl> impl) noexcept
    : impl_(std::move(impl)) {}
SubscriberTraffic::SubscriberTraffic(SubscriberTraffic&&) noexcept = default;
SubscriberTraffic& SubscriberTraffic::operator=(SubscriberTraffic&&) noexcept = default;
SubscriberTraffic::~SubscriberTraffic() = default;

namespace {

// Attaches `prog_name` at our fixed place in `dir`. A filter already there is replaced
// when it runs a program of ours (left by a process that died without detaching: it would
// keep policing and counting into maps nobody reads); any other program is left alone.
Result<ebpfkit::TcAttachment> attach_one(const ebpfkit::Object& obj, unsigned ifindex,
                                         const std::string& ifname, ebpfkit::TcDirection dir,
                                         const char* prog_name) {
  auto prog = obj.program(prog_name);
  if (!prog) return prog.error();
  auto present = ebpfkit::tc_query(ifindex, dir, BNG_ST_TC_PRIORITY, BNG_ST_TC_HANDLE);
  if (!present) return present.error();
  ebpfkit::TcAttachOptions opts;
  opts.direction = dir;
  opts.priority = BNG_ST_TC_PRIORITY;
  opts.handle = BNG_ST_TC_HANDLE;
  if (*present != 0) {
    auto other = ebpfkit::ProgramHandle::from_id(*present);
    const std::string other_name = other ? other->info().name : std::string("?");
    if (other_name != prog_name) {
      return make_error(std::errc::file_exists,
                        "a TC filter of program '" + other_name + "' (id " +
                            std::to_string(*present) + ") already sits at priority " +
                            std::to_string(BNG_ST_TC_PRIORITY) + " handle " +
                            hex(BNG_ST_TC_HANDLE) + " on " + ifname);
    }
    opts.replace = true;
  }
  auto a = ebpfkit::TcAttachment::attach(ifindex, *prog, opts);
  if (!a) return with_context(std::move(a).error(), std::string("attaching ") + prog_name);
  return a;
}

}  // namespace

Result<void> SubscriberTraffic::attach() {
  if (attached()) {
    return make_error(std::errc::device_or_resource_busy,
                      "subscriber TC programs already attached to " + impl_->options.interface);
  }
  if (impl_->options.interface.empty()) {
    return make_error(std::errc::invalid_argument, "no interface given to attach to");
  }
  const std::string& ifname = impl_->options.interface;
  auto ifindex = ebpfkit::interface_index(ifname);
  if (!ifindex) return Error{ifindex.error().code, "TC attach: " + ifindex.error().context};
  auto in = attach_one(impl_->obj, *ifindex, ifname, ebpfkit::TcDirection::ingress,
                       BNG_ST_PROG_INGRESS);
  if (!in) return in.error();
  auto out =
      attach_one(impl_->obj, *ifindex, ifname, ebpfkit::TcDirection::egress, BNG_ST_PROG_EGRESS);
  if (!out) return out.error();  // `in` detaches as it goes out of scope
  impl_->ingress.emplace(std::move(in).value());
  impl_->egress.emplace(std::move(out).value());
  return ok();
}

Result<void> SubscriberTraffic::detach() {
  Result<void> result = ok();
  for (auto* a : {&impl_->egress, &impl_->ingress}) {
    if (!*a) continue;
    if (auto r = (*a)->detach(); !r && result) result = r;
    a->reset();
  }
  return result;
}

bool SubscriberTraffic::attached() const noexcept {
  return impl_->ingress && impl_->ingress->active() && impl_->egress && impl_->egress->active();
}

Result<void> SubscriberTraffic::add(Ipv4 ip, const RatePolicy& policy) {
  if (auto r = validate(ip, policy); !r) return with_context(r.error(), "subscriber " + ip.to_string());
  const bng_st_key k = to_key(ip);
  const std::uint64_t now = monotonic_now_ns();
  auto existing = impl_->read_policy(k);
  if (!existing) return existing.error();
  bng_st_policy v = existing->value_or(bng_st_policy{});
  if (!*existing) {
    // A new subscriber starts from zero, also over counters a crash left without a policy.
    // Counters go in first, so the kernel never sees a policy without them.
    auto c = impl_->counters.update_all(k, bng_st_counters{});
    if (!c) {
      return with_context(c.error(), "adding subscriber " + ip.to_string() + " (capacity " +
                                         std::to_string(impl_->policies.info().max_entries) + ")");
    }
  }
  set_bucket(v.up, policy.up_bps, policy.burst_bytes, now);
  set_bucket(v.down, policy.down_bps, policy.burst_bytes, now);
  // Under the kernel's lock: a concurrent packet sees the old policy or the new, whole.
  // Bucket credit the kernel took between the read above and this write is given back;
  // a rate change is rare and this costs at most a few packets' worth.
  auto u = impl_->policies.handle().update_bytes(&k, &v, BPF_ANY | BPF_F_LOCK);
  if (!u) {
    if (!*existing) (void)impl_->counters.erase(k);
    return with_context(u.error(), "adding subscriber " + ip.to_string() + " (capacity " +
                                       std::to_string(impl_->policies.info().max_entries) + ")");
  }
  return ok();
}

Result<std::optional<TrafficCounters>> SubscriberTraffic::remove(Ipv4 ip) {
  const bng_st_key k = to_key(ip);
  // The policy goes first: from then on the kernel counts nothing more for `ip` (apart
  // from packets already past the policy look-up on another CPU), so the counters read
  // next are final.
  auto had_policy = impl_->policies.erase(k);
  if (!had_policy) return had_policy.error();
  auto c = impl_->read_counters(k);
  if (!c) return c.error();
  if (*c) {
    if (auto e = impl_->counters.erase(k); !e) return e.error();
  }
  if (!*had_policy && !*c) return std::optional<TrafficCounters>{};
  return std::optional<TrafficCounters>{c->value_or(TrafficCounters{})};
}

Result<std::optional<TrafficCounters>> SubscriberTraffic::counters(Ipv4 ip) const {
  return impl_->read_counters(to_key(ip));
}

Result<std::vector<std::pair<Ipv4, TrafficCounters>>> SubscriberTraffic::all_counters() const {
  auto entries = impl_->counters.aggregate_entries(bng_st_counters{}, add_u64s<bng_st_counters>);
  if (!entries) return entries.error();
  std::vector<std::pair<Ipv4, TrafficCounters>> out;
  out.reserve(entries->size());
  for (const auto& [k, c] : *entries) out.emplace_back(Ipv4::from_be(k.ip_be), from_abi(c));
  return out;
}

Result<std::optional<RatePolicy>> SubscriberTraffic::policy(Ipv4 ip) const {
  auto v = impl_->read_policy(to_key(ip));
  if (!v) return v.error();
  if (!*v) return std::optional<RatePolicy>{};
  RatePolicy p;
  p.up_bps = (*v)->up.rate_bps;
  p.down_bps = (*v)->down.rate_bps;
  p.burst_bytes = std::max((*v)->up.burst_bytes, (*v)->down.burst_bytes);
  return std::optional<RatePolicy>{p};
}

Result<SubscriberTrafficStatus> SubscriberTraffic::status() const {
  SubscriberTrafficStatus s;
  s.interface = impl_->options.interface;
  s.capacity = impl_->policies.info().max_entries;
  if (attached()) {
    auto in = impl_->ingress->still_attached();
    if (!in) return in.error();
    auto out = impl_->egress->still_attached();
    if (!out) return out.error();
    s.attached = *in && *out;
    if (s.attached) s.ifindex = impl_->ingress->ifindex();
  }
  auto n = impl_->policies.handle().count_keys();
  if (!n) return n.error();
  s.entries = *n;
  auto g = impl_->stats.aggregate(0, bng_st_stats{}, add_u64s<bng_st_stats>);
  if (!g) return g.error();
  s.unknown_packets_up = g->unknown_packets_up;
  s.unknown_octets_up = g->unknown_octets_up;
  s.unknown_packets_down = g->unknown_packets_down;
  s.unknown_octets_down = g->unknown_octets_down;
  s.non_ipv4 = g->non_ipv4;
  s.malformed = g->malformed;
  s.no_counters = g->no_counters;
  return s;
}

Result<TrafficTestRun> SubscriberTraffic::test_run(TrafficDirection direction,
                                                   std::span<const std::uint8_t> frame,
                                                   std::uint32_t gso_segs) const {
  auto prog = impl_->obj.program(direction == TrafficDirection::up ? BNG_ST_PROG_INGRESS
                                                                   : BNG_ST_PROG_EGRESS);
  if (!prog) return prog.error();
  __sk_buff ctx{};
  ctx.gso_segs = gso_segs;
  ebpfkit::TestRunInput in;
  in.data = std::as_bytes(frame);
  if (gso_segs != 0) in.ctx = std::as_bytes(std::span<const __sk_buff>(&ctx, 1));
  auto r = ebpfkit::test_run(*prog, in);
  if (!r) return r.error();
  return TrafficTestRun{static_cast<std::int32_t>(r->retval)};
}

const ebpfkit::Object& SubscriberTraffic::object() const noexcept { return impl_->obj; }

}  // namespace bngkit::bng::fastpath
