// The probe thread: one socket (raw ICMP or UDP), one poll loop, per-target timers.
#include <bngkit/fanout/health.hpp>

#include <time.h>  // struct timespec, which <linux/errqueue.h> uses but does not include

#include <linux/errqueue.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "net.hpp"

namespace bngkit::fanout {

std::string_view to_string(Health h) noexcept {
  switch (h) {
    case Health::unknown:
      return "unknown";
    case Health::healthy:
      return "healthy";
    case Health::unhealthy:
      return "unhealthy";
  }
  return "unknown";
}

namespace {

using Clock = std::chrono::steady_clock;
using net::UniqueFd;

// <linux/icmp.h> clashes with <netinet/ip_icmp.h>; these two values are all we need.
constexpr int kIcmpFilter = 1;  // ICMP_FILTER: bit n set blocks ICMP type n
constexpr std::string_view kUdpProbePrefix = "bngkit-fanout-probe ";

// What a probe carries so its answer can be matched: a random token per probe.
struct ProbePayload {
  std::uint64_t token;
};

struct TargetState {
  HealthProber::TargetStatus status;
  Endpoint probe_to;  // where the probe goes (udp_echo may use another port)
  Clock::time_point next_probe{};
  bool in_flight = false;
  std::uint64_t token = 0;
  std::uint16_t seq = 0;  // ICMP sequence of the probe in flight
  Clock::time_point sent_at{};
  Clock::time_point deadline{};
};

}  // namespace

struct HealthProber::Impl {
  HealthConfig config;
  Callback on_change;
  UniqueFd sock;
  UniqueFd wake;
  std::thread thread;
  std::atomic<bool> stopping{false};
  std::atomic<bool> alive{false};
  mutable std::mutex mutex;
  std::map<Endpoint, TargetState> targets;
  std::mt19937_64 rng{std::random_device{}()};
  std::uint16_t probe_id = 0;
  std::uint16_t next_seq = 0;

  using Events = std::vector<std::pair<Endpoint, Health>>;

  void run();
  void send_probe(TargetState& t, Clock::time_point now, Events& events);
  void receive(Clock::time_point now, Events& events);
  void receive_errors(Clock::time_point now, Events& events);
  void succeed(TargetState& t, Clock::time_point now, Events& events);
  void fail(TargetState& t, std::string why, Events& events);
  TargetState* find_in_flight_icmp(std::uint32_t addr_be, std::uint16_t seq);
  TargetState* find_in_flight_udp(const Endpoint& from);
  /// Reads and clears the socket's pending asynchronous error.
  void clear_pending_error() {
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(sock.get(), SOL_SOCKET, SO_ERROR, &err, &len);
  }
  void notify(const Events& events) {
    if (!on_change) return;
    for (const auto& [target, health] : events) on_change(target, health);
  }
};

HealthProber::HealthProber(HealthConfig config, Callback on_change)
    : impl_(std::make_unique<Impl>()) {
  impl_->config = std::move(config);
  impl_->on_change = std::move(on_change);
}

HealthProber::~HealthProber() { stop(); }

Result<void> HealthProber::start() {
  auto& d = *impl_;
  if (d.thread.joinable()) return ok();
  if (d.config.protocol == ProbeProtocol::icmp) {
    auto s =
        net::make_socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK, IPPROTO_ICMP, "ICMP health probes");
    if (!s) return s.error();
    d.sock = std::move(s).value();
    // Only echo replies and destination-unreachable errors reach us.
    const std::uint32_t blocked = ~((1U << ICMP_ECHOREPLY) | (1U << ICMP_DEST_UNREACH));
    if (::setsockopt(d.sock.get(), SOL_RAW, kIcmpFilter, &blocked, sizeof blocked) != 0) {
      return errno_error(errno, "setsockopt ICMP_FILTER");
    }
  } else {
    auto s = net::make_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0, "UDP health probes");
    if (!s) return s.error();
    d.sock = std::move(s).value();
    // ICMP errors (port unreachable) come back on the error queue: a probe fails at once.
    if (auto r = net::set_int_option(d.sock.get(), IPPROTO_IP, IP_RECVERR, 1, "IP_RECVERR"); !r) {
      return r;
    }
    const sockaddr_in any{AF_INET, 0, {0}, {}};
    if (::bind(d.sock.get(), reinterpret_cast<const sockaddr*>(&any), sizeof any) != 0) {
      return errno_error(errno, "bind UDP probe socket");
    }
  }
  const int efd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (efd < 0) return errno_error(errno, "eventfd");
  d.wake.reset(efd);
  d.probe_id = static_cast<std::uint16_t>(d.rng());
  d.stopping = false;
  d.alive = true;
  d.thread = std::thread([&d] { d.run(); });
  return ok();
}

void HealthProber::stop() noexcept {
  auto& d = *impl_;
  if (!d.thread.joinable()) return;
  d.stopping = true;
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto w = ::write(d.wake.get(), &one, sizeof one);
  d.thread.join();
}

bool HealthProber::running() const noexcept { return impl_->alive.load(); }

void HealthProber::set_targets(const std::vector<Endpoint>& targets) {
  auto& d = *impl_;
  {
    std::lock_guard lock(d.mutex);
    std::map<Endpoint, TargetState> next;
    for (const auto& e : targets) {
      auto it = d.targets.find(e);
      if (it != d.targets.end()) {
        next.emplace(e, std::move(it->second));
        continue;
      }
      TargetState t;
      t.status.target = e;
      t.probe_to = e;
      if (d.config.protocol == ProbeProtocol::udp_echo && d.config.udp_port != 0) {
        t.probe_to.port = d.config.udp_port;
      }
      next.emplace(e, std::move(t));  // next_probe in the past: probed at once
    }
    d.targets = std::move(next);
  }
  if (d.wake) {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto w = ::write(d.wake.get(), &one, sizeof one);
  }
}

Health HealthProber::health(const Endpoint& target) const {
  std::lock_guard lock(impl_->mutex);
  auto it = impl_->targets.find(target);
  return it == impl_->targets.end() ? Health::unknown : it->second.status.health;
}

std::vector<HealthProber::TargetStatus> HealthProber::status() const {
  std::lock_guard lock(impl_->mutex);
  std::vector<TargetStatus> out;
  for (const auto& [e, t] : impl_->targets) out.push_back(t.status);
  return out;
}

void HealthProber::Impl::run() {
  while (!stopping.load()) {
    Events events;
    int wait_ms = 1000;
    {
      std::lock_guard lock(mutex);
      const auto now = Clock::now();
      auto earliest = now + std::chrono::seconds(1);
      for (auto& [e, t] : targets) {
        if (t.in_flight && now >= t.deadline) fail(t, "no reply within the timeout", events);
        if (!t.in_flight && now >= t.next_probe) send_probe(t, now, events);
        earliest = std::min(earliest, t.in_flight ? t.deadline : t.next_probe);
      }
      wait_ms = static_cast<int>(
          std::chrono::ceil<std::chrono::milliseconds>(std::max(earliest - now, Clock::duration{}))
              .count());
    }
    notify(events);
    events.clear();

    pollfd fds[2] = {{sock.get(), POLLIN, 0}, {wake.get(), POLLIN, 0}};
    const int n = ::poll(fds, 2, wait_ms);
    if (n < 0 && errno != EINTR) {
      spdlog::error("health probes: poll: {}", std::strerror(errno));
      break;
    }
    if (fds[1].revents & POLLIN) {
      std::uint64_t v;
      [[maybe_unused]] const auto r = ::read(wake.get(), &v, sizeof v);
    }
    if (fds[0].revents & (POLLIN | POLLERR)) {
      std::lock_guard lock(mutex);
      const auto now = Clock::now();
      receive(now, events);
      receive_errors(now, events);
    }
    notify(events);
  }
  alive = false;
}

void HealthProber::Impl::send_probe(TargetState& t, Clock::time_point now, Events& events) {
  t.token = rng();
  t.sent_at = now;
  t.deadline = now + config.timeout;
  t.next_probe = now + config.interval;
  t.in_flight = true;
  ++t.status.probes_sent;
  const sockaddr_in to = net::to_sockaddr(t.probe_to);
  ssize_t r;
  if (config.protocol == ProbeProtocol::icmp) {
    t.seq = next_seq++;
    struct {
      icmphdr h;
      ProbePayload p;
    } pkt{};
    pkt.h.type = ICMP_ECHO;
    pkt.h.un.echo.id = htons(probe_id);
    pkt.h.un.echo.sequence = htons(t.seq);
    pkt.p.token = t.token;
    pkt.h.checksum = net::checksum_fold(net::checksum_add(&pkt, sizeof pkt));
    r = ::sendto(sock.get(), &pkt, sizeof pkt, 0, reinterpret_cast<const sockaddr*>(&to),
                 sizeof to);
  } else {
    char buf[64];
    const int len =
        std::snprintf(buf, sizeof buf, "%.*s%016llx", static_cast<int>(kUdpProbePrefix.size()),
                      kUdpProbePrefix.data(), static_cast<unsigned long long>(t.token));
    auto send = [&] {
      return ::sendto(sock.get(), buf, static_cast<std::size_t>(len), 0,
                      reinterpret_cast<const sockaddr*>(&to), sizeof to);
    };
    r = send();
    // An ICMP error drawn by an earlier probe to another target is also reported (once)
    // by the next send on this socket (sk_err); that is not this target's failure, and
    // the error queue still names the right target. A real failure fails twice.
    if (r < 0) r = send();
  }
  if (r < 0) fail(t, std::string("send: ") + std::strerror(errno), events);
}

TargetState* HealthProber::Impl::find_in_flight_icmp(std::uint32_t addr_be, std::uint16_t seq) {
  for (auto& [e, t] : targets) {
    if (t.in_flight && t.probe_to.address_be == addr_be && t.seq == seq) return &t;
  }
  return nullptr;
}

TargetState* HealthProber::Impl::find_in_flight_udp(const Endpoint& from) {
  for (auto& [e, t] : targets) {
    if (t.in_flight && t.probe_to == from) return &t;
  }
  return nullptr;
}

void HealthProber::Impl::receive(Clock::time_point now, Events& events) {
  std::uint8_t buf[2048];
  for (int budget = 256; budget > 0; --budget) {
    sockaddr_in from{};
    socklen_t from_len = sizeof from;
    const ssize_t n = ::recvfrom(sock.get(), buf, sizeof buf, MSG_DONTWAIT,
                                 reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n < 0) return;  // EAGAIN (drained) or an error for receive_errors
    if (config.protocol == ProbeProtocol::udp_echo) {
      const std::string_view got(reinterpret_cast<const char*>(buf), static_cast<std::size_t>(n));
      TargetState* t = find_in_flight_udp(net::from_sockaddr(from));
      if (t == nullptr) continue;
      char expect[64];
      const int len = std::snprintf(
          expect, sizeof expect, "%.*s%016llx", static_cast<int>(kUdpProbePrefix.size()),
          kUdpProbePrefix.data(), static_cast<unsigned long long>(t->token));
      if (got == std::string_view(expect, static_cast<std::size_t>(len))) succeed(*t, now, events);
      continue;
    }
    // Raw ICMP: the IPv4 header comes first.
    if (n < static_cast<ssize_t>(sizeof(iphdr))) continue;
    iphdr ip;
    std::memcpy(&ip, buf, sizeof ip);
    const std::size_t ihl = ip.ihl * 4U;
    if (ihl < sizeof(iphdr) || static_cast<std::size_t>(n) < ihl + sizeof(icmphdr)) continue;
    icmphdr icmp;
    std::memcpy(&icmp, buf + ihl, sizeof icmp);
    if (icmp.type == ICMP_ECHOREPLY) {
      if (ntohs(icmp.un.echo.id) != probe_id) continue;
      if (static_cast<std::size_t>(n) < ihl + sizeof(icmphdr) + sizeof(ProbePayload)) continue;
      ProbePayload p;
      std::memcpy(&p, buf + ihl + sizeof(icmphdr), sizeof p);
      TargetState* t = find_in_flight_icmp(ip.saddr, ntohs(icmp.un.echo.sequence));
      if (t != nullptr && t->token == p.token) succeed(*t, now, events);
    } else if (icmp.type == ICMP_DEST_UNREACH) {
      // Quoted: the original IPv4 header and the first 8 bytes of our echo request.
      const std::size_t inner = ihl + sizeof(icmphdr);
      if (static_cast<std::size_t>(n) < inner + sizeof(iphdr)) continue;
      iphdr orig;
      std::memcpy(&orig, buf + inner, sizeof orig);
      const std::size_t oihl = orig.ihl * 4U;
      if (orig.protocol != IPPROTO_ICMP || static_cast<std::size_t>(n) < inner + oihl + 8) continue;
      icmphdr req;
      std::memcpy(&req, buf + inner + oihl, sizeof req);
      if (req.type != ICMP_ECHO || ntohs(req.un.echo.id) != probe_id) continue;
      TargetState* t = find_in_flight_icmp(orig.daddr, ntohs(req.un.echo.sequence));
      if (t != nullptr) {
        fail(*t, "ICMP destination unreachable (code " + std::to_string(icmp.code) + ")", events);
      }
    }
  }
}

void HealthProber::Impl::receive_errors(Clock::time_point /*now*/, Events& events) {
  if (config.protocol != ProbeProtocol::udp_echo) return;
  for (int budget = 256; budget > 0; --budget) {
    sockaddr_in dst{};
    char data[64];
    char ctrl[512];
    iovec iov{data, sizeof data};
    msghdr msg{};
    msg.msg_name = &dst;
    msg.msg_namelen = sizeof dst;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctrl;
    msg.msg_controllen = sizeof ctrl;
    if (::recvmsg(sock.get(), &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) return;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != IPPROTO_IP || c->cmsg_type != IP_RECVERR) continue;
      sock_extended_err ee;
      std::memcpy(&ee, CMSG_DATA(c), sizeof ee);
      // The original destination of the probe that drew the error is in msg_name.
      TargetState* t = find_in_flight_udp(net::from_sockaddr(dst));
      if (t != nullptr) fail(*t, std::string("ICMP error: ") + std::strerror(ee.ee_errno), events);
    }
    clear_pending_error();  // the same error, already attributed above
  }
}

void HealthProber::Impl::succeed(TargetState& t, Clock::time_point now, Events& events) {
  t.in_flight = false;
  auto& s = t.status;
  s.last_rtt = std::chrono::duration_cast<std::chrono::microseconds>(now - t.sent_at);
  s.consecutive_failures = 0;
  ++s.consecutive_successes;
  // A new target is taken as healthy at its first answer; a failed one needs
  // recovery_threshold answers in a row.
  if (s.health == Health::unknown ||
      (s.health == Health::unhealthy && s.consecutive_successes >= config.recovery_threshold)) {
    s.health = Health::healthy;
    events.emplace_back(s.target, s.health);
  }
}

void HealthProber::Impl::fail(TargetState& t, std::string why, Events& events) {
  t.in_flight = false;
  auto& s = t.status;
  s.last_error = std::move(why);
  s.consecutive_successes = 0;
  ++s.consecutive_failures;
  if (s.health != Health::unhealthy && s.consecutive_failures >= config.failure_threshold) {
    s.health = Health::unhealthy;
    events.emplace_back(s.target, s.health);
  }
}

}  // namespace bngkit::fanout
