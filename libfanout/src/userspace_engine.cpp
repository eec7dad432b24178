// The userspace engine: per listener, N workers each own an SO_REUSEPORT socket, read
// batches with recvmmsg and write every copy of the batch with one sendmmsg — through a
// raw socket that keeps the sender's address as source, or a UDP socket that coalesces
// runs of equal-sized datagrams to one downstream into UDP GSO buffers.
#include <bngkit/fanout/engine.hpp>
#include <bngkit/fanout/selector.hpp>

#include <netinet/ip.h>
#include <netinet/udp.h>
#include <poll.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <random>
#include <thread>

#include "net.hpp"

namespace bngkit::fanout {

Engine::~Engine() = default;

namespace {

using net::UniqueFd;

constexpr std::size_t kMaxMsgsPerSend = 1024;  // the kernel caps sendmmsg's vlen at UIO_MAXIOV
constexpr std::size_t kMaxGsoSegments = 64;    // UDP_MAX_SEGMENTS on older kernels
constexpr std::size_t kMaxGsoBytes = 65507;    // one IPv4 datagram's payload at most
constexpr std::uint32_t kDefaultMtu = 1500;

// The downstreams one batch is delivered to, published as a whole.
struct ActiveSet {
  std::vector<sockaddr_in> targets;
  std::vector<std::uint32_t> max_payload;  // path MTU - IPv4 - UDP headers, per target
  std::vector<std::uint8_t> table;         // balance by flow hash: slot -> target
};

// Written by one worker, read by stats(); relaxed atomics are enough for counters.
struct alignas(64) WorkerCounters {
  std::atomic<std::uint64_t> received_packets{0};
  std::atomic<std::uint64_t> received_bytes{0};
  std::atomic<std::uint64_t> forwarded_packets{0};
  std::atomic<std::uint64_t> forwarded_bytes{0};
  std::array<std::atomic<std::uint64_t>, kDropReasonCount> dropped{};

  void add(std::atomic<std::uint64_t>& c, std::uint64_t n) {
    if (n != 0) c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void drop(DropReason r, std::uint64_t n) { add(dropped[static_cast<std::size_t>(r)], n); }
};

// Pinned workers of every engine in the process take CPUs in turn, so two listeners do
// not stack their first workers on the same CPU.
std::atomic<unsigned> g_next_cpu{0};

class UserspaceEngine;

// One worker: its sockets, buffers and thread. Buffers are reused batch after batch.
class Worker {
 public:
  Worker(UserspaceEngine& engine, std::size_t index) : engine_(engine), index_(index) {}
  Result<void> open();
  void start(int cpu);
  void join() {
    if (thread_.joinable()) thread_.join();
  }
  [[nodiscard]] bool alive() const noexcept { return alive_.load(std::memory_order_acquire); }
  [[nodiscard]] bool raw() const noexcept { return raw_; }
  [[nodiscard]] const WorkerCounters& counters() const noexcept { return counters_; }

 private:
  void run(int cpu);
  void handle_batch(std::size_t n);
  void plan(const ActiveSet& set, std::size_t n);
  void build_udp_messages(const ActiveSet& set);
  void build_raw_messages(const ActiveSet& set);
  void send_all();
  void send_segments_one_by_one(std::size_t msg);

  UserspaceEngine& engine_;
  std::size_t index_;
  UniqueFd rx_;
  UniqueFd tx_;
  bool raw_ = false;
  bool gso_ = false;
  std::thread thread_;
  std::atomic<bool> alive_{false};
  WorkerCounters counters_;
  std::uint32_t last_overflow_ = 0;
  std::uint64_t rr_ = 0;
  std::uint16_t ip_id_ = 0;  // for the fragments we cut (raw sends)

  std::uint16_t next_ip_id() {
    if (++ip_id_ == 0) ++ip_id_;  // never 0: the kernel would pick one per fragment
    return ip_id_;
  }

  // Receive side: batch_size buffers of max_datagram_size bytes.
  std::vector<std::uint8_t> rx_buf_;
  std::vector<iovec> rx_iov_;
  std::vector<mmsghdr> rx_msgs_;
  std::vector<sockaddr_in> rx_from_;
  std::vector<std::uint8_t> rx_ctrl_;
  std::vector<std::uint8_t> valid_;  // 1: deliver this datagram

  // Send plan: (target, datagram) pairs grouped by target, in arrival order per target.
  std::vector<std::uint16_t> dest_;  // balance: target of datagram i
  std::vector<std::uint32_t> pair_target_;
  std::vector<std::uint32_t> pair_index_;
  std::vector<std::uint32_t> bucket_;

  // Send side, rebuilt each batch from the plan.
  std::vector<mmsghdr> tx_msgs_;
  std::vector<iovec> tx_iov_;
  std::vector<std::uint8_t> tx_ctrl_;
  std::vector<std::uint8_t> tx_hdr_;  // raw: IPv4 + UDP header per copy
  std::vector<std::uint32_t> tx_segs_;
  std::vector<std::uint32_t> tx_bytes_;
  std::vector<std::uint32_t> payload_sum_;  // raw: one's-complement sum of each payload
};

class UserspaceEngine final : public Engine {
 public:
  explicit UserspaceEngine(ListenerConfig config) : config_(std::move(config)) {}
  ~UserspaceEngine() override { stop(); }

  [[nodiscard]] Mode mode() const noexcept override { return Mode::userspace; }
  Result<void> start() override;
  void stop() noexcept override;
  [[nodiscard]] bool running() const noexcept override;
  Result<void> set_downstreams(std::span<const Endpoint> active) override;
  [[nodiscard]] ListenerStats stats() const override;

  [[nodiscard]] const ListenerConfig& config() const noexcept { return config_; }
  [[nodiscard]] int stop_fd() const noexcept { return stop_fd_.get(); }
  [[nodiscard]] bool stopping() const noexcept { return stopping_.load(std::memory_order_acquire); }
  [[nodiscard]] std::shared_ptr<const ActiveSet> active() const noexcept {
    return active_.load(std::memory_order_acquire);
  }

 private:
  ListenerConfig config_;
  std::vector<std::unique_ptr<Worker>> workers_;
  UniqueFd stop_fd_;
  UniqueFd mtu_fd_;             // kept in the engine's network namespace for route MTU look-ups
  mutable std::mutex control_;  // start/stop/set_downstreams/stats
  std::atomic<bool> started_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<std::shared_ptr<const ActiveSet>> active_{std::make_shared<const ActiveSet>()};
};

Result<void> Worker::open() {
  const auto& cfg = engine_.config();
  const auto& s = cfg.settings;
  const std::string where = "listener " + cfg.name + " worker " + std::to_string(index_);

  auto rx = net::make_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0, where.c_str());
  if (!rx) return rx.error();
  rx_ = std::move(rx).value();
  if (auto r = net::set_int_option(rx_.get(), SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT"); !r) {
    return r;
  }
  if (auto r = net::set_int_option(rx_.get(), SOL_SOCKET, SO_RXQ_OVFL, 1, "SO_RXQ_OVFL"); !r) {
    return r;
  }
  if (auto r = net::set_buffer_size(rx_.get(), true, s.recv_buf_size); !r) return r;
  const sockaddr_in bind_sa = net::to_sockaddr(cfg.bind);
  if (::bind(rx_.get(), reinterpret_cast<const sockaddr*>(&bind_sa), sizeof bind_sa) != 0) {
    return errno_error(errno, where + ": bind " + cfg.bind.to_string());
  }

  if (cfg.preserve_source) {
    // IPPROTO_RAW implies IP_HDRINCL: we write the IPv4 header, source address included.
    auto raw = net::make_socket(AF_INET, SOCK_RAW, IPPROTO_RAW, where.c_str());
    if (raw) {
      tx_ = std::move(raw).value();
      raw_ = true;
    } else if (index_ == 0) {
      spdlog::warn(
          "listener {}: source address not preserved: raw socket: {} "
          "(needs CAP_NET_RAW); sending from this host's address instead",
          cfg.name, raw.error().message());
    }
  }
  if (!raw_) {
    // Our own ephemeral port: replies from downstreams land here (and are dropped by the
    // kernel when the queue fills) instead of being fanned out again from the listener.
    auto udp = net::make_socket(AF_INET, SOCK_DGRAM, 0, where.c_str());
    if (!udp) return udp.error();
    tx_ = std::move(udp).value();
    if (auto r = net::set_int_option(tx_.get(), SOL_SOCKET, SO_RCVBUF, 4096, "SO_RCVBUF"); !r) {
      return r;
    }
    gso_ = s.gso;
  }
  if (auto r = net::set_buffer_size(tx_.get(), false, s.send_buf_size); !r) return r;

  ip_id_ = static_cast<std::uint16_t>(std::random_device{}());
  const std::size_t batch = s.batch_size;
  const std::size_t slot = s.max_datagram_size;
  rx_buf_.assign(batch * slot, 0);
  rx_iov_.resize(batch);
  rx_msgs_.resize(batch);
  rx_from_.resize(batch);
  rx_ctrl_.assign(batch * CMSG_SPACE(sizeof(std::uint32_t)), 0);
  valid_.resize(batch);
  dest_.resize(batch);
  payload_sum_.resize(batch);
  return ok();
}

void Worker::start(int cpu) {
  alive_.store(true, std::memory_order_release);
  thread_ = std::thread([this, cpu] { run(cpu); });
}

void Worker::run(int cpu) {
  const auto& cfg = engine_.config();
  // "fanout-w<N>" in top -H, perf and /proc/<pid>/task/*/comm (15 characters at most).
  const std::string name = "fanout-w" + std::to_string(index_);
  ::pthread_setname_np(::pthread_self(), name.substr(0, 15).c_str());
  if (cpu >= 0) {
    if (auto r = net::pin_thread_to_cpu(cpu); !r) {
      spdlog::warn("listener {} worker {}: {}", cfg.name, index_, r.error().message());
    }
  }
  const std::size_t batch = cfg.settings.batch_size;
  const std::size_t slot = cfg.settings.max_datagram_size;
  const std::size_t ctrl = CMSG_SPACE(sizeof(std::uint32_t));
  while (!engine_.stopping()) {
    for (std::size_t i = 0; i < batch; ++i) {
      rx_iov_[i] = {rx_buf_.data() + i * slot, slot};
      auto& h = rx_msgs_[i].msg_hdr;
      h = {};
      h.msg_name = &rx_from_[i];
      h.msg_namelen = sizeof(sockaddr_in);
      h.msg_iov = &rx_iov_[i];
      h.msg_iovlen = 1;
      h.msg_control = rx_ctrl_.data() + i * ctrl;
      h.msg_controllen = ctrl;
    }
    const int n =
        ::recvmmsg(rx_.get(), rx_msgs_.data(), static_cast<unsigned>(batch), MSG_DONTWAIT, nullptr);
    if (n > 0) {
      handle_batch(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      spdlog::error("listener {} worker {}: recvmmsg: {}", cfg.name, index_, std::strerror(errno));
    }
    pollfd fds[2] = {{rx_.get(), POLLIN, 0}, {engine_.stop_fd(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) {
      spdlog::error("listener {} worker {}: poll: {}", cfg.name, index_, std::strerror(errno));
      break;
    }
  }
  alive_.store(false, std::memory_order_release);
}

void Worker::handle_batch(std::size_t n) {
  std::uint64_t bytes = 0;
  std::uint64_t truncated = 0;
  std::size_t deliver = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const auto& h = rx_msgs_[i].msg_hdr;
    bytes += rx_msgs_[i].msg_len;
    const bool ok = (h.msg_flags & MSG_TRUNC) == 0 && h.msg_namelen == sizeof(sockaddr_in);
    valid_[i] = ok ? 1 : 0;
    deliver += ok ? 1 : 0;
    truncated += ok ? 0 : 1;
  }
  // SO_RXQ_OVFL: the socket's drop counter at the time of the newest datagram.
  for (cmsghdr* c = CMSG_FIRSTHDR(&rx_msgs_[n - 1].msg_hdr); c != nullptr;
       c = CMSG_NXTHDR(&rx_msgs_[n - 1].msg_hdr, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
      std::uint32_t dropped = 0;
      std::memcpy(&dropped, CMSG_DATA(c), sizeof dropped);
      counters_.drop(DropReason::receive_queue_full, dropped - last_overflow_);
      last_overflow_ = dropped;
    }
  }
  counters_.add(counters_.received_packets, n);
  counters_.add(counters_.received_bytes, bytes);
  counters_.drop(DropReason::truncated, truncated);
  if (deliver == 0) return;

  const auto set = engine_.active();
  if (set->targets.empty()) {
    counters_.drop(DropReason::no_downstream, deliver);
    return;
  }
  plan(*set, n);
  if (raw_) {
    build_raw_messages(*set);
  } else {
    build_udp_messages(*set);
  }
  send_all();
}

// Fills pair_target_/pair_index_: every copy to make, grouped by target, datagrams in
// arrival order within a target (so GSO runs and per-receiver order hold).
void Worker::plan(const ActiveSet& set, std::size_t n) {
  const auto& cfg = engine_.config();
  const std::size_t targets = set.targets.size();
  pair_target_.clear();
  pair_index_.clear();
  if (cfg.policy == Policy::replicate) {
    for (std::size_t t = 0; t < targets; ++t) {
      for (std::size_t i = 0; i < n; ++i) {
        if (!valid_[i]) continue;
        pair_target_.push_back(static_cast<std::uint32_t>(t));
        pair_index_.push_back(static_cast<std::uint32_t>(i));
      }
    }
    return;
  }
  // balance: choose a target per datagram, then counting-sort the datagrams by target.
  bucket_.assign(targets + 1, 0);
  std::size_t count = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!valid_[i]) continue;
    std::size_t t;
    if (cfg.balance == BalanceMethod::flow_hash) {
      const auto& from = rx_from_[i];
      t = set.table[flow_hash(from.sin_addr.s_addr, from.sin_port) % set.table.size()];
    } else {
      t = static_cast<std::size_t>(rr_++ % targets);
    }
    dest_[i] = static_cast<std::uint16_t>(t);
    ++bucket_[t + 1];
    ++count;
  }
  for (std::size_t t = 0; t < targets; ++t) bucket_[t + 1] += bucket_[t];
  pair_target_.resize(count);
  pair_index_.resize(count);
  for (std::size_t i = 0; i < n; ++i) {
    if (!valid_[i]) continue;
    const std::uint32_t pos = bucket_[dest_[i]]++;
    pair_target_[pos] = dest_[i];
    pair_index_[pos] = static_cast<std::uint32_t>(i);
  }
}

void Worker::build_udp_messages(const ActiveSet& set) {
  const std::size_t pairs = pair_target_.size();
  const std::size_t ctrl = CMSG_SPACE(sizeof(std::uint16_t));
  tx_msgs_.resize(pairs);
  tx_iov_.resize(pairs);
  tx_ctrl_.resize(pairs * ctrl);
  tx_segs_.resize(pairs);
  tx_bytes_.resize(pairs);
  std::size_t m = 0;
  std::size_t p = 0;
  while (p < pairs) {
    const std::uint32_t t = pair_target_[p];
    const std::uint32_t seg = rx_msgs_[pair_index_[p]].msg_len;
    // A GSO run: same target, every segment `seg` bytes except a shorter last one.
    std::size_t run = 1;
    std::size_t total = seg;
    if (gso_ && seg > 0 && seg <= set.max_payload[t]) {
      while (p + run < pairs && run < kMaxGsoSegments && pair_target_[p + run] == t) {
        const std::uint32_t len = rx_msgs_[pair_index_[p + run]].msg_len;
        if (len > seg || len == 0 || total + len > kMaxGsoBytes) break;
        total += len;
        ++run;
        if (len < seg) break;  // only the last segment may be shorter
      }
    }
    auto& h = tx_msgs_[m].msg_hdr;
    h = {};
    h.msg_name = const_cast<sockaddr_in*>(&set.targets[t]);
    h.msg_namelen = sizeof(sockaddr_in);
    h.msg_iov = &tx_iov_[p];
    h.msg_iovlen = run;
    for (std::size_t k = 0; k < run; ++k) {
      const std::uint32_t i = pair_index_[p + k];
      tx_iov_[p + k] = {rx_iov_[i].iov_base, rx_msgs_[i].msg_len};
    }
    if (run > 1) {
      h.msg_control = tx_ctrl_.data() + m * ctrl;
      h.msg_controllen = ctrl;
      cmsghdr* c = CMSG_FIRSTHDR(&h);
      c->cmsg_level = SOL_UDP;
      c->cmsg_type = UDP_SEGMENT;
      c->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
      const auto gso_size = static_cast<std::uint16_t>(seg);
      std::memcpy(CMSG_DATA(c), &gso_size, sizeof gso_size);
    }
    tx_segs_[m] = static_cast<std::uint32_t>(run);
    tx_bytes_[m] = static_cast<std::uint32_t>(total);
    ++m;
    p += run;
  }
  tx_msgs_.resize(m);
}

// Bytes of UDP header and payload one IPv4 fragment carries towards target t: what fits
// the path MTU after the IPv4 header, a multiple of 8 (fragment offsets count 8 bytes).
static std::size_t fragment_room(const ActiveSet& set, std::uint32_t t) {
  return (set.max_payload[t] + sizeof(udphdr)) & ~std::size_t{7};
}

void Worker::build_raw_messages(const ActiveSet& set) {
  constexpr std::size_t kIp = sizeof(iphdr);
  constexpr std::size_t kUdp = sizeof(udphdr);
  constexpr std::size_t kHdr = kIp + kUdp;
  const std::size_t pairs = pair_target_.size();
  // A copy larger than the path MTU is sent as IPv4 fragments we cut ourselves: the
  // kernel does not fragment IP_HDRINCL packets. Count the messages first, so the
  // vectors do not move while we point into them.
  std::size_t total = 0;
  for (std::size_t p = 0; p < pairs; ++p) {
    const std::size_t udp_len = kUdp + rx_msgs_[pair_index_[p]].msg_len;
    const std::size_t room = fragment_room(set, pair_target_[p]);
    const bool whole = udp_len <= set.max_payload[pair_target_[p]] + kUdp;
    total += whole ? 1 : (udp_len + room - 1) / room;
  }
  tx_msgs_.resize(total);
  tx_iov_.resize(total * 3);
  tx_hdr_.resize(total * kHdr);
  tx_segs_.resize(total);
  tx_bytes_.resize(total);
  // Each payload is summed once for all its copies; per copy only the headers are added.
  for (std::size_t i = 0; i < rx_msgs_.size(); ++i) payload_sum_[i] = UINT32_MAX;
  std::size_t m = 0;
  for (std::size_t p = 0; p < pairs; ++p) {
    const std::uint32_t t = pair_target_[p];
    const std::uint32_t i = pair_index_[p];
    const std::uint32_t len = rx_msgs_[i].msg_len;
    auto* payload = static_cast<std::uint8_t*>(rx_iov_[i].iov_base);
    if (payload_sum_[i] == UINT32_MAX) payload_sum_[i] = net::checksum_add(payload, len);
    const sockaddr_in& to = set.targets[t];
    const sockaddr_in& from = rx_from_[i];

    udphdr udp{};
    udp.source = from.sin_port;
    udp.dest = to.sin_port;
    udp.len = htons(static_cast<std::uint16_t>(kUdp + len));
    struct {
      std::uint32_t saddr, daddr;
      std::uint8_t zero, proto;
      std::uint16_t len;
    } pseudo{from.sin_addr.s_addr, to.sin_addr.s_addr, 0, IPPROTO_UDP, udp.len};
    std::uint32_t sum = net::checksum_add(&pseudo, sizeof pseudo, payload_sum_[i]);
    sum = net::checksum_add(&udp, sizeof udp, sum);
    const std::uint16_t csum = net::checksum_fold(sum);
    udp.check = csum == 0 ? 0xffff : csum;  // 0 would mean "no checksum" (RFC 768)

    const std::size_t udp_len = kUdp + len;
    const bool whole = udp_len <= set.max_payload[t] + kUdp;
    const std::size_t room = whole ? udp_len : fragment_room(set, t);
    // Fragments of one datagram share an IP id; a whole datagram gets one from the kernel.
    const std::uint16_t id = whole ? 0 : next_ip_id();
    for (std::size_t off = 0; off < udp_len; off += room) {
      const std::size_t chunk = std::min(room, udp_len - off);
      const bool last = off + chunk == udp_len;
      iphdr ip{};
      ip.ihl = 5;
      ip.version = 4;
      ip.ttl = 64;
      ip.protocol = IPPROTO_UDP;
      ip.tot_len = htons(static_cast<std::uint16_t>(kIp + chunk));
      ip.id = htons(id);
      ip.frag_off = htons(static_cast<std::uint16_t>((off / 8) | (last ? 0 : IP_MF)));
      ip.saddr = from.sin_addr.s_addr;
      ip.daddr = to.sin_addr.s_addr;  // the header checksum is filled in by the kernel
      auto* hdr = tx_hdr_.data() + m * kHdr;
      std::memcpy(hdr, &ip, kIp);
      iovec* iov = &tx_iov_[3 * m];
      std::size_t n_iov = 0;
      if (off == 0) {
        std::memcpy(hdr + kIp, &udp, kUdp);
        iov[n_iov++] = {hdr, kHdr};
        iov[n_iov++] = {payload, chunk - kUdp};
      } else {
        iov[n_iov++] = {hdr, kIp};
        iov[n_iov++] = {payload + off - kUdp, chunk};
      }
      auto& h = tx_msgs_[m].msg_hdr;
      h = {};
      h.msg_name = const_cast<sockaddr_in*>(&to);
      h.msg_namelen = sizeof(sockaddr_in);
      h.msg_iov = iov;
      h.msg_iovlen = n_iov;
      // The datagram counts once, with its last fragment.
      tx_segs_[m] = last ? 1 : 0;
      tx_bytes_[m] = last ? len : 0;
      ++m;
    }
  }
}

void Worker::send_all() {
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
  std::size_t off = 0;
  const std::size_t total = tx_msgs_.size();
  while (off < total) {
    const auto chunk = static_cast<unsigned>(std::min(total - off, kMaxMsgsPerSend));
    const int sent = ::sendmmsg(tx_.get(), &tx_msgs_[off], chunk, 0);
    if (sent > 0) {
      for (std::size_t k = off; k < off + static_cast<std::size_t>(sent); ++k) {
        packets += tx_segs_[k];
        bytes += tx_bytes_[k];
      }
      off += static_cast<std::size_t>(sent);
      continue;
    }
    if (errno == EINTR) continue;
    // The message at `off` failed; the ones after it were not tried yet.
    const int err = errno;
    if (tx_segs_[off] > 1 && (err == EINVAL || err == EIO || err == EMSGSIZE)) {
      // The device or route refused the GSO buffer: send this run datagram by datagram,
      // and stop coalescing on this worker.
      spdlog::warn("listener {} worker {}: UDP GSO refused ({}); sending datagrams singly",
                   engine_.config().name, index_, std::strerror(err));
      gso_ = false;
      counters_.add(counters_.forwarded_packets, packets);
      counters_.add(counters_.forwarded_bytes, bytes);
      packets = bytes = 0;
      send_segments_one_by_one(off);
    } else {
      counters_.drop(err == EMSGSIZE ? DropReason::too_big : DropReason::send_error, tx_segs_[off]);
    }
    ++off;
  }
  counters_.add(counters_.forwarded_packets, packets);
  counters_.add(counters_.forwarded_bytes, bytes);
}

void Worker::send_segments_one_by_one(std::size_t msg) {
  const auto& h = tx_msgs_[msg].msg_hdr;
  for (std::size_t k = 0; k < h.msg_iovlen; ++k) {
    const iovec& v = h.msg_iov[k];
    const ssize_t r = ::sendto(tx_.get(), v.iov_base, v.iov_len, 0,
                               static_cast<const sockaddr*>(h.msg_name), h.msg_namelen);
    if (r >= 0) {
      counters_.add(counters_.forwarded_packets, 1);
      counters_.add(counters_.forwarded_bytes, v.iov_len);
    } else {
      counters_.drop(errno == EMSGSIZE ? DropReason::too_big : DropReason::send_error, 1);
    }
  }
}

Result<void> UserspaceEngine::start() {
  std::lock_guard lock(control_);
  if (started_.load()) return ok();
  const auto& s = config_.settings;
  if (s.batch_size == 0 || s.workers == 0 || s.max_datagram_size == 0) {
    return make_error(std::errc::invalid_argument, "listener " + config_.name +
                                                       ": batch_size, workers and "
                                                       "max_datagram_size must be at least 1");
  }
  const int efd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (efd < 0) return errno_error(errno, "eventfd");
  stop_fd_.reset(efd);
  auto mtu = net::make_socket(AF_INET, SOCK_DGRAM, 0, "route MTU look-ups");
  if (!mtu) return mtu.error();
  mtu_fd_ = std::move(mtu).value();

  std::vector<std::unique_ptr<Worker>> workers;
  for (std::size_t i = 0; i < s.workers; ++i) {
    auto w = std::make_unique<Worker>(*this, i);
    if (auto r = w->open(); !r) return r;
    workers.push_back(std::move(w));
  }
  stopping_.store(false);
  const auto cpus = s.pin_cpus ? net::allowed_cpus() : std::vector<int>{};
  for (auto& w : workers) {
    const int cpu =
        cpus.empty() ? -1 : cpus[g_next_cpu.fetch_add(1, std::memory_order_relaxed) % cpus.size()];
    w->start(cpu);
  }
  workers_ = std::move(workers);
  started_.store(true);
  spdlog::info("listener {}: userspace engine on {} with {} worker(s), batch {}, {}{}",
               config_.name, config_.bind.to_string(), s.workers, s.batch_size,
               workers_.front()->raw() ? "source preserved (raw socket)" : "source not preserved",
               s.pin_cpus ? ", pinned to CPUs" : "");
  return ok();
}

void UserspaceEngine::stop() noexcept {
  std::lock_guard lock(control_);
  if (!started_.load()) return;
  stopping_.store(true, std::memory_order_release);
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto w = ::write(stop_fd_.get(), &one, sizeof one);
  for (auto& worker : workers_) worker->join();
  started_.store(false);
  // Workers (and their counters) stay until destruction so stats() keeps its totals.
}

bool UserspaceEngine::running() const noexcept {
  if (!started_.load()) return false;
  return std::all_of(workers_.begin(), workers_.end(), [](const auto& w) { return w->alive(); });
}

Result<void> UserspaceEngine::set_downstreams(std::span<const Endpoint> active) {
  if (active.size() > kMaxDownstreamsUserspace) {
    return make_error(std::errc::argument_list_too_long,
                      "listener " + config_.name + ": " + std::to_string(active.size()) +
                          " downstreams, the userspace engine takes at most " +
                          std::to_string(kMaxDownstreamsUserspace));
  }
  std::lock_guard lock(control_);
  auto set = std::make_shared<ActiveSet>();
  std::vector<std::uint64_t> keys;
  for (const auto& e : active) {
    set->targets.push_back(net::to_sockaddr(e));
    std::uint32_t mtu = kDefaultMtu;
    if (mtu_fd_) {
      if (auto r = net::route_mtu(mtu_fd_.get(), e)) mtu = *r;
    }
    set->max_payload.push_back(mtu > 28 ? mtu - 28 : 0);
    keys.push_back(endpoint_key(e));
  }
  if (config_.policy == Policy::balance && config_.balance == BalanceMethod::flow_hash) {
    set->table = build_lookup_table(keys);
  }
  active_.store(std::move(set), std::memory_order_release);
  return ok();
}

ListenerStats UserspaceEngine::stats() const {
  ListenerStats s;
  // workers_ only changes under control_ in start(); reading counters needs no lock, but
  // the vector itself must not change under us.
  std::lock_guard lock(control_);
  for (const auto& w : workers_) {
    const auto& c = w->counters();
    s.received_packets += c.received_packets.load(std::memory_order_relaxed);
    s.received_bytes += c.received_bytes.load(std::memory_order_relaxed);
    s.forwarded_packets += c.forwarded_packets.load(std::memory_order_relaxed);
    s.forwarded_bytes += c.forwarded_bytes.load(std::memory_order_relaxed);
    for (std::size_t i = 0; i < kDropReasonCount; ++i) {
      s.dropped[i] += c.dropped[i].load(std::memory_order_relaxed);
    }
  }
  return s;
}

}  // namespace

std::unique_ptr<Engine> make_userspace_engine(const ListenerConfig& config) {
  return std::make_unique<UserspaceEngine>(config);
}

}  // namespace bngkit::fanout
