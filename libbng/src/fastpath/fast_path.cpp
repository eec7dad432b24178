// FastPath: loads the embedded dhcp_fastpath skeleton through ebpfkit, fills its maps and
// reads back counters and served-lease events. All conversion between the C++ types and
// the kernel ABI (network order, CLOCK_MONOTONIC ns) lives in the "ABI conversion" block.
#include <bngkit/bng/fastpath/dhcp_fastpath_abi.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <bngkit/bng/fastpath/fast_path.hpp>
#include <bngkit/ebpfkit/attach.hpp>
#include <bngkit/ebpfkit/map.hpp>
#include <bngkit/ebpfkit/object.hpp>
#include <bngkit/ebpfkit/pin.hpp>
#include <bngkit/ebpfkit/ringbuf.hpp>
#include <bngkit/ebpfkit/test_run.hpp>
#include <cstring>
#include <limits>
#include <utility>

#include "dhcp_fastpath.skel.h"

namespace bngkit::bng::fastpath {

static_assert(sizeof(bng_fp_mac_key) == 6);
static_assert(sizeof(bng_fp_vlan_key) == 4);
static_assert(sizeof(bng_fp_circuit_key) == 68);
static_assert(sizeof(bng_fp_subscriber) == 24);
static_assert(sizeof(bng_fp_pool) == 108);
static_assert(sizeof(bng_fp_config) == 16);
static_assert(sizeof(bng_fp_stats) == 128);
static_assert(sizeof(bng_fp_lease_event) == 128);

namespace {

using SubMacMap = ebpfkit::Map<bng_fp_mac_key, bng_fp_subscriber>;
using SubVlanMap = ebpfkit::Map<bng_fp_vlan_key, bng_fp_subscriber>;
using SubCircuitMap = ebpfkit::Map<bng_fp_circuit_key, bng_fp_subscriber>;
using PoolMap = ebpfkit::Map<std::uint32_t, bng_fp_pool>;
using ConfigMap = ebpfkit::Map<std::uint32_t, bng_fp_config>;
using StatsMap = ebpfkit::PerCpuMap<std::uint32_t, bng_fp_stats>;

// ---- ABI conversion: the one place where host values become kernel ABI values --------

std::uint32_t be32(std::uint32_t host) noexcept { return Ipv4::from_host(host).to_be(); }
std::uint32_t host32(std::uint32_t be) noexcept { return Ipv4::from_be(be).to_host(); }
std::uint16_t be16(std::uint16_t host) noexcept {
  const std::uint8_t b[2] = {static_cast<std::uint8_t>(host >> 8), static_cast<std::uint8_t>(host)};
  std::uint16_t v;
  std::memcpy(&v, b, 2);
  return v;
}

// steady_clock is CLOCK_MONOTONIC on Linux (libstdc++ and libc++), the clock behind
// bpf_ktime_get_ns().
std::uint64_t monotonic_ns(std::chrono::steady_clock::time_point tp) noexcept {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(tp.time_since_epoch());
  return ns.count() <= 0 ? 0 : static_cast<std::uint64_t>(ns.count());
}
std::chrono::steady_clock::time_point from_monotonic_ns(std::uint64_t ns) noexcept {
  return std::chrono::steady_clock::time_point(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::chrono::nanoseconds(static_cast<std::int64_t>(ns))));
}

bng_fp_mac_key to_abi(const MacAddress& mac) noexcept {
  bng_fp_mac_key k{};
  std::copy(mac.bytes().begin(), mac.bytes().end(), k.addr);
  return k;
}

bng_fp_vlan_key to_abi(VlanKey v) noexcept { return bng_fp_vlan_key{v.s_vlan, v.c_vlan}; }

Result<bng_fp_circuit_key> circuit_to_abi(std::span<const std::uint8_t> id) {
  if (id.empty() || id.size() > BNG_FP_CIRCUIT_ID_MAX) {
    return make_error(std::errc::invalid_argument, "circuit-id must be 1.." +
                                                       std::to_string(BNG_FP_CIRCUIT_ID_MAX) +
                                                       " bytes, got " + std::to_string(id.size()));
  }
  bng_fp_circuit_key k{};  // zero-filled: the key is hashed whole
  k.len = static_cast<std::uint32_t>(id.size());
  std::copy(id.begin(), id.end(), k.id);
  return k;
}

Result<void> check_vlan(VlanKey v) {
  if (v.s_vlan > 4095 || v.c_vlan > 4095) {
    return make_error(std::errc::invalid_argument, "VLAN IDs are 0..4095");
  }
  return ok();
}

Result<bng_fp_subscriber> to_abi(const CacheEntry& e) {
  if (e.ip.is_unspecified()) {
    return make_error(std::errc::invalid_argument, "cache entry without an address");
  }
  bng_fp_subscriber s{};
  s.ip_be = e.ip.to_be();
  s.pool_id = e.pool_id;
  s.expiry_ns = monotonic_ns(e.expiry);
  s.flags = (e.serve_discover ? 0U : BNG_FP_SUB_F_NO_DISCOVER) |
            (e.serve_request ? 0U : BNG_FP_SUB_F_NO_REQUEST);
  return s;
}

CacheEntry from_abi(const bng_fp_subscriber& s) {
  CacheEntry e;
  e.ip = Ipv4::from_be(s.ip_be);
  e.pool_id = s.pool_id;
  e.expiry = from_monotonic_ns(s.expiry_ns);
  e.serve_discover = (s.flags & BNG_FP_SUB_F_NO_DISCOVER) == 0;
  e.serve_request = (s.flags & BNG_FP_SUB_F_NO_REQUEST) == 0;
  return e;
}

Result<bng_fp_pool> to_abi(const PoolParams& p) {
  using std::chrono::seconds;
  const auto lease = p.lease_time.count();
  if (lease < 1 || lease > std::numeric_limits<std::uint32_t>::max()) {
    return make_error(std::errc::invalid_argument, "lease time must be 1..4294967295 s");
  }
  const auto t1 = p.renewal_time.value_or(seconds(lease / 2)).count();
  const auto t2 = p.rebinding_time.value_or(seconds(lease * 7 / 8)).count();
  if (t1 < 0 || t2 < 0 || t1 > t2 || t2 > lease) {
    return make_error(std::errc::invalid_argument,
                      "need 0 <= renewal time (T1) <= rebinding time (T2) <= lease time");
  }
  if (p.dns.size() > BNG_FP_DNS_MAX) {
    return make_error(std::errc::invalid_argument,
                      "at most " + std::to_string(BNG_FP_DNS_MAX) + " DNS servers");
  }
  if (p.domain_name.size() > BNG_FP_DOMAIN_MAX) {
    return make_error(std::errc::invalid_argument,
                      "domain name longer than " + std::to_string(BNG_FP_DOMAIN_MAX) + " bytes");
  }
  if (p.mtu != 0 && p.mtu < 68) {
    return make_error(std::errc::invalid_argument, "MTU (option 26) must be at least 68");
  }
  bng_fp_pool a{};
  a.subnet_mask_be = p.subnet_mask.to_be();
  a.router_be = p.router.to_be();
  a.broadcast_be = p.broadcast.to_be();
  for (std::size_t i = 0; i < p.dns.size(); ++i) a.dns_be[i] = p.dns[i].to_be();
  a.dns_count = static_cast<std::uint8_t>(p.dns.size());
  a.lease_time_be = be32(static_cast<std::uint32_t>(lease));
  a.t1_be = be32(static_cast<std::uint32_t>(t1));
  a.t2_be = be32(static_cast<std::uint32_t>(t2));
  a.mtu_be = be16(p.mtu);
  a.domain_len = static_cast<std::uint8_t>(p.domain_name.size());
  std::memcpy(a.domain, p.domain_name.data(), p.domain_name.size());
  return a;
}

Result<bng_fp_config> to_abi(const ServerConfig& c) {
  if (c.enabled && c.server_ip.is_unspecified()) {
    return make_error(std::errc::invalid_argument, "fast path enabled without a server IP");
  }
  bng_fp_config a{};
  a.server_ip_be = c.server_ip.to_be();
  a.flags = (c.enabled ? BNG_FP_CFG_F_ENABLED : 0U) |
            (c.verify_checksums ? BNG_FP_CFG_F_VERIFY_CSUM : 0U);
  std::copy(c.server_mac.bytes().begin(), c.server_mac.bytes().end(), a.server_mac);
  return a;
}

LeaseEvent from_abi(const bng_fp_lease_event& e) {
  LeaseEvent out;
  out.type = e.msg_type == 5 ? LeaseEvent::Type::ack : LeaseEvent::Type::offer;
  out.served_at = from_monotonic_ns(e.timestamp_ns);
  out.expiry = from_monotonic_ns(e.expiry_ns);
  out.ip = Ipv4::from_be(e.ip_be);
  out.ciaddr = Ipv4::from_be(e.ciaddr_be);
  out.giaddr = Ipv4::from_be(e.giaddr_be);
  out.xid = host32(e.xid_be);
  out.pool_id = e.pool_id;
  out.lease_time = std::chrono::seconds(e.lease_time_s);
  out.ifindex = e.ifindex;
  out.vlan = VlanKey{e.s_vlan, e.c_vlan};
  out.chaddr =
      MacAddress({e.chaddr[0], e.chaddr[1], e.chaddr[2], e.chaddr[3], e.chaddr[4], e.chaddr[5]});
  out.matched_by = static_cast<MatchedBy>(e.key_kind);
  const std::size_t clen = std::min<std::size_t>(e.circuit.len, BNG_FP_CIRCUIT_ID_MAX);
  out.circuit_id.assign(e.circuit.id, e.circuit.id + clen);
  out.renewal = (e.flags & BNG_FP_EV_F_RENEW) != 0;
  out.relayed = (e.flags & BNG_FP_EV_F_RELAYED) != 0;
  out.broadcast = (e.flags & BNG_FP_EV_F_BROADCAST) != 0;
  return out;
}

Stats from_abi(const bng_fp_stats& s) {
  Stats o;
  o.rx_requests = s.rx_requests;
  o.tx_offer = s.tx_offer;
  o.tx_ack = s.tx_ack;
  o.pass_disabled = s.pass_disabled;
  o.pass_malformed = s.pass_malformed;
  o.pass_unsupported = s.pass_unsupported;
  o.pass_not_for_us = s.pass_not_for_us;
  o.pass_other_server = s.pass_other_server;
  o.pass_no_entry = s.pass_no_entry;
  o.pass_expired = s.pass_expired;
  o.pass_policy = s.pass_policy;
  o.pass_mismatch = s.pass_mismatch;
  o.pass_too_big = s.pass_too_big;
  o.pass_no_room = s.pass_no_room;
  o.pass_event_full = s.pass_event_full;
  o.drop_error = s.drop_error;
  return o;
}

// Field-wise sum of two per-CPU counter blocks (all fields are __u64).
bng_fp_stats add(const bng_fp_stats& a, const bng_fp_stats& b) noexcept {
  constexpr std::size_t n = sizeof(bng_fp_stats) / sizeof(std::uint64_t);
  std::uint64_t x[n];
  std::uint64_t y[n];
  std::memcpy(x, &a, sizeof(a));
  std::memcpy(y, &b, sizeof(b));
  for (std::size_t i = 0; i < n; ++i) x[i] += y[i];
  bng_fp_stats out;
  std::memcpy(&out, x, sizeof(out));
  return out;
}

ebpfkit::XdpMode to_ebpfkit(XdpMode m) noexcept {
  switch (m) {
    case XdpMode::native:
      return ebpfkit::XdpMode::native;
    case XdpMode::generic:
      return ebpfkit::XdpMode::generic;
    case XdpMode::automatic:
      break;
  }
  return ebpfkit::XdpMode::automatic;
}

template <typename T>
Result<T> typed(const ebpfkit::Object& obj, const char* name) {
  return obj.map_as<T>(name);
}

Error with_context(Error e, const std::string& what) {
  e.context = what + ": " + e.context;
  return e;
}

}  // namespace

std::uint64_t Stats::passed() const noexcept {
  return pass_disabled + pass_malformed + pass_unsupported + pass_not_for_us + pass_other_server +
         pass_no_entry + pass_expired + pass_policy + pass_mismatch + pass_too_big + pass_no_room +
         pass_event_full;
}

// Where ring buffer records go during poll_events (the RingBuffer's callback is fixed
// when it is opened, so it forwards to whatever sink is current).
struct EventSink {
  const std::function<void(const LeaseEvent&)>* on_event = nullptr;
  std::size_t delivered = 0;
};

struct FastPath::Impl {
  Impl(ebpfkit::Object o, SubMacMap m, SubVlanMap v, SubCircuitMap c, PoolMap p, ConfigMap cf,
       StatsMap st, ebpfkit::RingBuffer rb, std::shared_ptr<EventSink> es)
      : obj(std::move(o)),
        by_mac(std::move(m)),
        by_vlan(std::move(v)),
        by_circuit(std::move(c)),
        pools(std::move(p)),
        config(std::move(cf)),
        stats(std::move(st)),
        events(std::move(rb)),
        sink(std::move(es)) {}

  ebpfkit::Object obj;  // first: outlives the borrowed map handles below
  SubMacMap by_mac;
  SubVlanMap by_vlan;
  SubCircuitMap by_circuit;
  PoolMap pools;
  ConfigMap config;
  StatsMap stats;
  ebpfkit::RingBuffer events;
  std::shared_ptr<EventSink> sink;
  std::optional<ebpfkit::XdpAttachment> attachment;  // last: detaches first
};

Result<FastPath> FastPath::open(const FastPathOptions& options) {
  if (!options.pin_dir.empty()) {
    if (auto r = ebpfkit::require_bpffs(options.pin_dir); !r) return r.error();
  }
  auto obj = BNGKIT_EBPFKIT_OPEN_SKELETON(dhcp_fastpath);
  if (!obj) return with_context(std::move(obj).error(), "opening the DHCP fast path");

  // Sizes and pins are set before load; libbpf reuses a compatible pinned map.
  const std::pair<const char*, std::uint32_t> sized[] = {
      {BNG_FP_MAP_BY_MAC, options.max_subscribers},
      {BNG_FP_MAP_BY_VLAN, options.max_subscribers},
      {BNG_FP_MAP_BY_CIRCUIT, options.max_subscribers},
      {BNG_FP_MAP_POOLS, options.max_pools},
      {BNG_FP_MAP_EVENTS, options.event_ring_bytes},
  };
  for (const auto& [name, entries] : sized) {
    // The ring buffer is never pinned: events belong to the process reading them.
    const bool cache_map = std::string_view(name) != BNG_FP_MAP_EVENTS;
    if (auto r = obj->prepare_map(name, entries, cache_map ? options.pin_dir : std::string()); !r) return r.error();
  }
  if (auto r = obj->load(); !r) return with_context(r.error(), "loading the DHCP fast path");

  auto by_mac = typed<SubMacMap>(*obj, BNG_FP_MAP_BY_MAC);
  if (!by_mac) return by_mac.error();
  auto by_vlan = typed<SubVlanMap>(*obj, BNG_FP_MAP_BY_VLAN);
  if (!by_vlan) return by_vlan.error();
  auto by_circuit = typed<SubCircuitMap>(*obj, BNG_FP_MAP_BY_CIRCUIT);
  if (!by_circuit) return by_circuit.error();
  auto pools = typed<PoolMap>(*obj, BNG_FP_MAP_POOLS);
  if (!pools) return pools.error();
  auto config = typed<ConfigMap>(*obj, BNG_FP_MAP_CONFIG);
  if (!config) return config.error();
  auto stats = typed<StatsMap>(*obj, BNG_FP_MAP_STATS);
  if (!stats) return stats.error();
  auto ring_map = obj->map(BNG_FP_MAP_EVENTS);
  if (!ring_map) return ring_map.error();
  auto sink = std::make_shared<EventSink>();
  auto ring = ebpfkit::RingBuffer::open(*ring_map, [sink](std::span<const std::byte> record) {
    if (sink->on_event == nullptr || record.size() < sizeof(bng_fp_lease_event)) return;
    bng_fp_lease_event e;
    std::memcpy(&e, record.data(), sizeof(e));
    (*sink->on_event)(from_abi(e));
    ++sink->delivered;
  });
  if (!ring) return ring.error();

  auto impl = std::make_unique<Impl>(
      std::move(obj).value(), std::move(by_mac).value(), std::move(by_vlan).value(),
      std::move(by_circuit).value(), std::move(pools).value(), std::move(config).value(),
      std::move(stats).value(), std::move(ring).value(), std::move(sink));
  return FastPath(std::move(impl));
}

FastPath::FastPath(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
FastPath::FastPath(FastPath&&) noexcept = default;
FastPath& FastPath::operator=(FastPath&&) noexcept = default;
FastPath::~FastPath() = default;

Result<void> FastPath::set_server_config(const ServerConfig& config) {
  auto a = to_abi(config);
  if (!a) return a.error();
  return impl_->config.update(0, *a);
}

Result<void> FastPath::set_pool(std::uint32_t pool_id, const PoolParams& params) {
  auto a = to_abi(params);
  if (!a) return with_context(std::move(a).error(), "pool " + std::to_string(pool_id));
  return impl_->pools.update(pool_id, *a);
}

Result<bool> FastPath::remove_pool(std::uint32_t pool_id) { return impl_->pools.erase(pool_id); }

Result<void> FastPath::cache_by_mac(const MacAddress& mac, const CacheEntry& entry) {
  auto v = to_abi(entry);
  if (!v) return v.error();
  return impl_->by_mac.update(to_abi(mac), *v);
}

Result<void> FastPath::cache_by_vlan(VlanKey vlan, const CacheEntry& entry) {
  if (auto r = check_vlan(vlan); !r) return r;
  auto v = to_abi(entry);
  if (!v) return v.error();
  return impl_->by_vlan.update(to_abi(vlan), *v);
}

Result<void> FastPath::cache_by_circuit_id(std::span<const std::uint8_t> circuit_id,
                                           const CacheEntry& entry) {
  auto k = circuit_to_abi(circuit_id);
  if (!k) return k.error();
  auto v = to_abi(entry);
  if (!v) return v.error();
  return impl_->by_circuit.update(*k, *v);
}

Result<bool> FastPath::uncache_by_mac(const MacAddress& mac) {
  return impl_->by_mac.erase(to_abi(mac));
}

Result<bool> FastPath::uncache_by_vlan(VlanKey vlan) {
  if (auto r = check_vlan(vlan); !r) return r.error();
  return impl_->by_vlan.erase(to_abi(vlan));
}

Result<bool> FastPath::uncache_by_circuit_id(std::span<const std::uint8_t> circuit_id) {
  auto k = circuit_to_abi(circuit_id);
  if (!k) return k.error();
  return impl_->by_circuit.erase(*k);
}

Result<std::optional<CacheEntry>> FastPath::cached_by_mac(const MacAddress& mac) const {
  auto v = impl_->by_mac.lookup(to_abi(mac));
  if (!v) return v.error();
  if (!*v) return std::optional<CacheEntry>{};
  return std::optional<CacheEntry>{from_abi(**v)};
}

namespace {
// A fast path left attached by a dead process still answers from its stale cache, and
// nobody drains its ring buffer: take it off before attaching ours. Other programs stay.
Result<void> remove_stale_fast_path(unsigned ifindex) {
  auto q = ebpfkit::xdp_query(ifindex);
  if (!q) return q.error();
  for (std::uint32_t id : {q->native_id, q->generic_id}) {
    if (id == 0) continue;
    auto other = ebpfkit::ProgramHandle::from_id(id);
    if (!other || other->info().name != BNG_FP_PROG_NAME) continue;
    if (auto r = ebpfkit::xdp_detach_id(ifindex, id); !r) {
      return with_context(std::move(r).error(), "removing a stale DHCP fast path");
    }
  }
  return ok();
}
}  // namespace

Result<void> FastPath::attach(std::string_view ifname, XdpMode mode) {
  if (impl_->attachment && impl_->attachment->active()) {
    return make_error(std::errc::device_or_resource_busy,
                      "DHCP fast path already attached to ifindex " +
                          std::to_string(impl_->attachment->ifindex()));
  }
  auto prog = impl_->obj.program(BNG_FP_PROG_NAME);
  if (!prog) return prog.error();
  auto ifindex = ebpfkit::interface_index(ifname);
  if (!ifindex) return Error{ifindex.error().code, "XDP attach: " + ifindex.error().context};
  if (auto r = remove_stale_fast_path(*ifindex); !r) return r;
  ebpfkit::XdpAttachOptions opts;
  opts.mode = to_ebpfkit(mode);
  opts.replace = false;
  auto a = ebpfkit::XdpAttachment::attach(*ifindex, *prog, opts);
  if (!a) return with_context(std::move(a).error(), "attaching the DHCP fast path");
  impl_->attachment.emplace(std::move(a).value());
  return ok();
}

Result<void> FastPath::detach() {
  if (!impl_->attachment) return ok();
  auto r = impl_->attachment->detach();
  impl_->attachment.reset();
  return r;
}

int FastPath::attached_ifindex() const noexcept {
  return impl_->attachment && impl_->attachment->active()
             ? static_cast<int>(impl_->attachment->ifindex())
             : 0;
}

Result<Stats> FastPath::stats() const {
  auto sum = impl_->stats.aggregate(0, bng_fp_stats{}, add);
  if (!sum) return sum.error();
  return from_abi(*sum);
}

Result<void> FastPath::reset_stats() { return impl_->stats.update_all(0, bng_fp_stats{}); }

Result<std::size_t> FastPath::poll_events(const std::function<void(const LeaseEvent&)>& on_event,
                                          std::chrono::milliseconds timeout) {
  EventSink& sink = *impl_->sink;
  sink.on_event = &on_event;
  sink.delivered = 0;
  // The kernel wakes readers only for batches (BNG_FP_EVENT_WAKEUP_BYTES): a wait for the
  // first event therefore polls in short slices instead of trusting the wakeup.
  constexpr auto kSlice = std::chrono::milliseconds{5};
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  Result<void> r = ok();
  for (;;) {
    auto got = impl_->events.consume();
    if (!got) {
      r = got.error();
      break;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (sink.delivered > 0 || left.count() <= 0) break;
    if (auto p = impl_->events.poll(std::min(left, kSlice)); !p) {
      r = p.error();
      break;
    }
    if (sink.delivered > 0) break;
  }
  sink.on_event = nullptr;
  if (!r) return r.error();
  return sink.delivered;
}

int FastPath::event_fd() const noexcept { return impl_->events.fd(); }

Result<TestRunOutput> FastPath::test_run(std::span<const std::uint8_t> frame,
                                         std::uint32_t repeat) const {
  auto prog = impl_->obj.program(BNG_FP_PROG_NAME);
  if (!prog) return prog.error();
  auto r = ebpfkit::test_run(*prog, std::as_bytes(frame), repeat);
  if (!r) return r.error();
  TestRunOutput out;
  out.action = r->retval;
  out.duration_ns = r->duration_ns;
  out.frame.resize(r->data.size());
  std::memcpy(out.frame.data(), r->data.data(), r->data.size());
  return out;
}

const ebpfkit::Object& FastPath::object() const noexcept { return impl_->obj; }

}  // namespace bngkit::bng::fastpath
