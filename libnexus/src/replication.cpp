// Replicator: one outbound link per peer (push as changes happen, anti-entropy every
// rebroadcast interval), one thread per inbound connection handing frames to a pool of
// num_workers threads that decode and apply them, and a maintenance thread that follows DNS.
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bngkit/nexus/model.hpp>
#include <bngkit/nexus/replication.hpp>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <future>
#include <list>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "peer_channel.hpp"

namespace bngkit::nexus {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Frame types of the peer protocol (README: "Wire protocol").
enum Msg : std::uint8_t {
  kHello = 1,    // both ways: version, topic, replica id
  kPush = 2,     // client -> server: ModelDelta; answered by kAck
  kAck = 3,      // varint entries changed, varint conflicts repaired
  kDigest = 4,   // client -> server: ModelDigest; answered by kSummary
  kSummary = 5,  // server's ModelDigest + ModelSummary of the differing buckets
  kRepair = 6,   // client -> server: ModelSummary; answered by kDelta frames
  kDelta = 7,    // u8 last + ModelDelta
  kError = 8,    // bytes message; the sender closes
};
constexpr std::uint8_t kProtocolVersion = 1;

struct Hello {
  std::uint8_t version = kProtocolVersion;
  std::string topic;
  std::string replica_id;
};

std::string encode_hello(const Hello& h) {
  std::string out;
  ByteWriter w(out);
  w.u8(h.version);
  w.bytes(h.topic);
  w.bytes(h.replica_id);
  return out;
}

std::optional<Hello> decode_hello(std::string_view bytes) {
  ByteReader r(bytes);
  Hello h;
  if (!r.u8(h.version) || !Codec<std::string>::decode(r, h.topic) ||
      !Codec<std::string>::decode(r, h.replica_id) || !r.done())
    return std::nullopt;
  return h;
}

std::string encode_message(const std::string& message) {
  std::string out;
  ByteWriter w(out);
  w.bytes(message);
  return out;
}

std::string decode_message(std::string_view bytes) {
  ByteReader r(bytes);
  std::string m;
  if (!Codec<std::string>::decode(r, m)) return "(undecodable error message)";
  return m;
}

Error protocol(std::string what) { return make_error(std::errc::protocol_error, std::move(what)); }

// Splits a delta into parts of at most `max` entries (a delta is a join of its entries).
std::vector<ModelDelta> split(const ModelDelta& d, std::size_t max) {
  std::vector<ModelDelta> out;
  if (d.size() <= max) {
    out.push_back(d);
    return out;
  }
  ModelDelta cur;
  auto flush_if_full = [&] {
    if (cur.size() >= max) {
      out.push_back(std::move(cur));
      cur = ModelDelta{};
    }
  };
  for (const auto& [k, e] : d.pools.entries()) {
    cur.pools.join(k, e);
    flush_if_full();
  }
  for (const auto& [k, e] : d.allocations.entries()) {
    cur.allocations.join(k, e);
    flush_if_full();
  }
  for (const auto& [k, e] : d.nodes.entries()) {
    cur.nodes.join(k, e);
    flush_if_full();
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

// A fixed pool of threads running submitted jobs in order of submission.
class WorkerPool {
 public:
  explicit WorkerPool(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) threads_.emplace_back([this] { run(); });
  }
  ~WorkerPool() { stop(); }
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  template <typename F>
  auto submit(F&& f) -> std::future<decltype(f())> {
    using R = decltype(f());
    auto task = std::make_shared<std::packaged_task<R()>>(std::forward<F>(f));
    auto fut = task->get_future();
    {
      std::lock_guard lock(mu_);
      jobs_.emplace_back([task] { (*task)(); });
    }
    cv_.notify_one();
    return fut;
  }

  void stop() {
    {
      std::lock_guard lock(mu_);
      if (stopped_) return;
      stopped_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

 private:
  void run() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stopped_ || !jobs_.empty(); });
        if (jobs_.empty()) return;  // stopped and drained
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> threads_;
  bool stopped_ = false;
};

// Writes to a peer that went away must fail with EPIPE, not kill the process: every thread
// that writes to peers blocks SIGPIPE for its lifetime (the process's disposition stays as is).
void block_sigpipe() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

std::int64_t wall_ms() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string seconds_text(milliseconds d) {
  const auto tenths = d.count() / 100;
  return std::to_string(tenths / 10) + (tenths % 10 != 0 ? "." + std::to_string(tenths % 10) : "") +
         "s";
}

}  // namespace

// One outbound peer. Fields below `thread` are guarded by Impl::mu.
struct Link {
  std::string address;
  bool from_dns = false;
  std::thread thread;
  std::string replica_id;
  bool connected = false;
  bool synced = false;
  bool self = false;
  bool removed = false;
  int failures = 0;  // connection attempts that failed since the last success
  std::int64_t last_sync_ms = 0;
  std::string last_error;
  std::optional<Clock::time_point> pending_since;
  std::uint64_t resync_seen = 0;
};

struct Inbound {
  std::thread thread;
  std::atomic<bool> done{false};
};

struct Replicator::Impl {
  Impl(Model& m, ReplicationOptions o) : model(m), opt(std::move(o)), workers(opt.num_workers) {}

  Model& model;
  ReplicationOptions opt;
  std::shared_ptr<detail::TlsContext> tls;
  detail::FdRegistry fds;
  int listen_fd = -1;
  std::uint16_t port = 0;
  Clock::time_point started = Clock::now();
  WorkerPool workers;

  mutable std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  std::uint64_t change_gen = 0;
  std::uint64_t resync_gen = 0;
  bool dns_resolved = false;
  bool ready = false;
  std::string ready_detail;
  std::map<std::string, std::unique_ptr<Link>> links;
  std::list<std::unique_ptr<Inbound>> inbound;
  std::thread acceptor;
  std::thread maintainer;

  struct Counters {
    std::atomic<std::uint64_t> accepted{0}, handshake_failures{0}, protocol_errors{0};
    std::atomic<std::uint64_t> frames_sent{0}, frames_received{0}, bytes_sent{0}, bytes_received{0};
    std::atomic<std::uint64_t> pushes{0}, entries_sent{0}, entries_applied{0};
    std::atomic<std::uint64_t> rounds{0}, repairs{0}, refused{0};
  } stats;

  // ---- framing with accounting

  Result<void> send(detail::Channel& ch, std::uint8_t type, std::string_view payload) {
    auto n = ch.send(type, payload);
    if (!n) return n.error();
    stats.frames_sent++;
    stats.bytes_sent += *n;
    return ok();
  }

  Result<detail::Frame> receive(detail::Channel& ch) {
    std::size_t wire = 0;
    auto f = ch.receive(opt.max_frame_bytes, &wire);
    if (!f) return f.error();
    stats.frames_received++;
    stats.bytes_received += wire;
    return f;
  }

  // A reply of the expected type, or the error the peer reported.
  Result<detail::Frame> expect(detail::Channel& ch, std::uint8_t type, const char* what) {
    auto f = receive(ch);
    if (!f) return f.error();
    if (f->type == kError)
      return protocol(ch.peer() + " refused " + what + ": " + decode_message(f->payload));
    if (f->type != type) {
      stats.protocol_errors++;
      return protocol(ch.peer() + " answered " + what + " with frame type " +
                      std::to_string(f->type));
    }
    return f;
  }

  // ---- the outbound side

  Result<detail::Channel> dial(const Link& link) {
    auto hp = detail::split_host_port(link.address, opt.listen_port);
    if (!hp) return hp.error();
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    const int rc =
        ::getaddrinfo(hp->first.c_str(), std::to_string(hp->second).c_str(), &hints, &res);
    if (rc != 0)
      return make_error(std::errc::host_unreachable,
                        "resolve " + hp->first + ": " + ::gai_strerror(rc));
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(res, &::freeaddrinfo);
    Error last = make_error(std::errc::host_unreachable, "no address for " + hp->first);
    for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
      sockaddr_storage ss{};
      std::memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
      auto ch = detail::Channel::connect(tls, fds, ss, ai->ai_addrlen, opt.connect_timeout,
                                         opt.io_timeout);
      if (ch) return ch;
      last = ch.error();
      if (last.code == std::errc::permission_denied) break;  // reached it; authentication failed
    }
    return last;
  }

  Result<void> push(detail::Channel& ch, Link& link, ModelWatermark& acked,
                    std::uint64_t& pushed_gen) {
    std::uint64_t gen = 0;
    {
      std::lock_guard lock(mu);
      gen = change_gen;
    }
    const auto began = Clock::now();
    // What the peer wrote itself it has: no echo (anti-entropy covers a peer that lost it).
    auto [delta, wm] = model.changes_since(acked, link.replica_id);
    if (!delta.empty()) {
      for (const auto& part : split(delta, opt.max_batch_entries)) {
        if (auto r = send(ch, kPush, encode(part)); !r) return r;
        if (auto a = expect(ch, kAck, "a push"); !a) return a.error();
        stats.pushes++;
        stats.entries_sent += part.size();
      }
    }
    acked = wm;
    pushed_gen = gen;
    std::lock_guard lock(mu);
    if (change_gen == gen)
      link.pending_since.reset();
    else
      link.pending_since = began;  // changes made during this push are still unacknowledged
    return ok();
  }

  // Digest exchange, then each side sends what the other lacks.
  Result<void> anti_entropy(detail::Channel& ch, Link& link, ModelWatermark& acked) {
    const ModelWatermark wm0 = model.watermark();  // before the digest: later changes get pushed
    if (auto r = send(ch, kDigest, encode(model.digest())); !r) return r;
    auto f = expect(ch, kSummary, "a digest");
    if (!f) return f.error();
    ByteReader r(f->payload);
    ModelDigest theirs;
    ModelSummary summary;
    if (!Codec<ModelDigest>::decode(r, theirs) || !Codec<ModelSummary>::decode(r, summary) ||
        !r.done()) {
      stats.protocol_errors++;
      return protocol("malformed summary from " + ch.peer());
    }
    std::uint64_t exchanged = 0;
    if (!(theirs == model.digest()) || !summary.pools.buckets.empty() ||
        !summary.allocations.buckets.empty() || !summary.nodes.buckets.empty()) {
      const ModelDelta mine = model.delta_for(summary);
      for (const auto& part : split(mine, opt.max_batch_entries)) {
        if (part.empty()) continue;
        if (auto s = send(ch, kPush, encode(part)); !s) return s;
        if (auto a = expect(ch, kAck, "a repair push"); !a) return a.error();
        stats.entries_sent += part.size();
        exchanged += part.size();
      }
      if (auto s = send(ch, kRepair, encode(model.summary(theirs))); !s) return s;
      for (;;) {
        auto d = expect(ch, kDelta, "a repair request");
        if (!d) return d.error();
        ByteReader dr(d->payload);
        std::uint8_t last = 0;
        ModelDelta delta;
        if (!dr.u8(last) || last > 1 || !Codec<ModelDelta>::decode(dr, delta) || !dr.done()) {
          stats.protocol_errors++;
          return protocol("malformed repair delta from " + ch.peer());
        }
        if (!delta.empty()) {
          auto m = model.merge(delta);
          if (!m) return m.error();
          stats.entries_applied += m->changed;
          exchanged += delta.size();
        }
        if (last == 1) break;
      }
    }
    acked = wm0;
    stats.rounds++;
    stats.repairs += exchanged;
    std::lock_guard lock(mu);
    if (!link.synced)
      spdlog::info("nexus: initial sync with {} ({}) done, {} entries exchanged", link.replica_id,
                   link.address, exchanged);
    link.synced = true;
    link.last_sync_ms = wall_ms();
    evaluate_ready();
    return ok();
  }

  // One connection's life: handshake, anti-entropy, then push as changes come.
  Result<void> session(Link& link) {
    auto ch = dial(link);
    if (!ch) {
      if (ch.error().code == std::errc::permission_denied) stats.handshake_failures++;
      return ch.error();
    }
    if (auto r = send(*ch, kHello, encode_hello({kProtocolVersion, opt.topic, model.replica_id()}));
        !r)
      return r;
    auto f = expect(*ch, kHello, "our hello");
    if (!f) return f.error();
    auto hello = decode_hello(f->payload);
    if (!hello || hello->version != kProtocolVersion || hello->topic != opt.topic) {
      stats.protocol_errors++;
      return protocol(link.address + " speaks another protocol version or topic");
    }
    {
      std::lock_guard lock(mu);
      link.replica_id = hello->replica_id;
      if (hello->replica_id == model.replica_id()) {
        link.self = true;
        evaluate_ready();
        return ok();
      }
      if (!link.connected && link.failures > 0)
        spdlog::info("nexus: connected to peer {} ({})", hello->replica_id, link.address);
      link.connected = true;
      link.failures = 0;
      link.last_error.clear();
    }
    ModelWatermark acked;
    std::uint64_t pushed_gen = 0;
    if (auto r = anti_entropy(*ch, link, acked); !r) return r;
    auto next_round = Clock::now() + opt.rebroadcast_interval;
    for (;;) {
      bool round = false;
      {
        std::unique_lock lock(mu);
        cv.wait_until(lock, next_round, [&] {
          return stopping || link.removed || change_gen != pushed_gen ||
                 resync_gen != link.resync_seen;
        });
        if (stopping || link.removed) return ok();
        if (resync_gen != link.resync_seen) {
          link.resync_seen = resync_gen;
          round = true;
        }
      }
      if (round || Clock::now() >= next_round) {
        if (auto r = anti_entropy(*ch, link, acked); !r) return r;
        next_round = Clock::now() + opt.rebroadcast_interval;
      }
      if (auto r = push(*ch, link, acked, pushed_gen); !r) return r;
    }
  }

  void run_link(Link& link) {
    block_sigpipe();
    milliseconds backoff{100};
    for (;;) {
      {
        std::lock_guard lock(mu);
        if (stopping || link.removed) return;
      }
      const auto began = Clock::now();
      auto r = session(link);
      std::unique_lock lock(mu);
      const bool was_connected = link.connected;
      link.connected = false;
      if (stopping || link.removed) return;
      if (link.self) {
        spdlog::debug("nexus: peer address {} is this replica; skipping it", link.address);
        evaluate_ready();
        cv.wait(lock, [&] { return stopping || link.removed; });
        return;
      }
      if (!r) {
        const std::string msg = r.error().message();
        // Losing a connected peer gets its own line, the counterpart of "connected to peer":
        // it is what an operator looks for when nexus_peer_up drops to 0, and the line below
        // reads the same for a peer that was never reached.
        if (was_connected)
          spdlog::warn("nexus: lost peer {} ({}): {}; reconnecting", link.replica_id, link.address,
                       msg);
        else if (msg != link.last_error)
          spdlog::warn("nexus: peer {}{}: {}", link.address,
                       link.replica_id.empty() ? "" : " (" + link.replica_id + ")", msg);
        link.last_error = msg;
        link.failures++;
      }
      evaluate_ready();
      if (Clock::now() - began > std::chrono::seconds(10)) backoff = milliseconds{100};
      const std::uint64_t resync = resync_gen;
      cv.wait_for(lock, backoff, [&] { return stopping || link.removed || resync_gen != resync; });
      backoff = std::min(backoff * 2, milliseconds{5000});
    }
  }

  // Starts a link for `address` if there is none (call with mu held).
  void add_link(const std::string& address, bool from_dns) {
    auto [it, inserted] = links.try_emplace(address);
    if (!inserted) {
      if (it->second->removed) return;
      it->second->from_dns = it->second->from_dns || from_dns;
      return;
    }
    it->second = std::make_unique<Link>();
    Link* l = it->second.get();
    l->address = address;
    l->from_dns = from_dns;
    l->resync_seen = resync_gen;
    l->thread = std::thread([this, l] { run_link(*l); });
  }

  // ---- readiness (call with mu held)

  void evaluate_ready() {
    if (ready) return;
    const auto elapsed = Clock::now() - started;
    std::vector<std::string> waiting;
    for (const auto& [addr, l] : links) {
      if (l->self || l->removed || l->synced || l->failures > 0) continue;
      waiting.push_back(l->replica_id.empty() ? addr : l->replica_id + " (" + addr + ")");
    }
    if (!opt.dns.empty() && !dns_resolved) waiting.push_back("DNS " + opt.dns);
    if (waiting.empty()) {
      ready = true;
      std::size_t synced = 0;
      std::size_t peers = 0;
      for (const auto& [addr, l] : links) {
        if (l->self || l->removed) continue;
        ++peers;
        synced += l->synced ? 1 : 0;
      }
      ready_detail = "initial sync done with " + std::to_string(synced) + " of " +
                     std::to_string(peers) + " peer(s) (the others were unreachable)";
      if (synced == peers)
        ready_detail = "initial sync done with all " + std::to_string(peers) + " peer(s)";
      spdlog::info("nexus: ready: {}", ready_detail);
      return;
    }
    std::string list;
    for (const auto& w : waiting) list += (list.empty() ? "" : ", ") + w;
    if (elapsed >= opt.initial_sync_timeout) {
      ready = true;
      ready_detail = "initial sync gave up after " + seconds_text(opt.initial_sync_timeout) +
                     " waiting for " + list;
      spdlog::warn("nexus: ready: {}", ready_detail);
      return;
    }
    ready_detail = "waiting for the initial sync with " + list;
  }

  // ---- the inbound side

  // Handles one request frame; returns the reply frames.
  std::vector<std::pair<std::uint8_t, std::string>> handle(const detail::Frame& f,
                                                           const std::string& peer) {
    std::vector<std::pair<std::uint8_t, std::string>> out;
    auto fail = [&](std::string what) {
      stats.protocol_errors++;
      spdlog::warn("nexus: {}: {}", peer, what);
      out.clear();
      out.emplace_back(kError, encode_message(what));
    };
    switch (f.type) {
      case kPush: {
        auto d = decode<ModelDelta>(f.payload, "delta");
        if (!d) {
          fail(d.error().message());
          return out;
        }
        auto m = model.merge(*d);
        if (!m) {
          out.emplace_back(kError, encode_message("merge failed: " + m.error().message()));
          spdlog::error("nexus: merging a delta from {}: {}", peer, m.error().message());
          return out;
        }
        stats.entries_applied += m->changed;
        std::string ack;
        ByteWriter w(ack);
        w.varint(m->changed);
        w.varint(m->repaired);
        out.emplace_back(kAck, std::move(ack));
        return out;
      }
      case kDigest: {
        auto d = decode<ModelDigest>(f.payload, "digest");
        if (!d) {
          fail(d.error().message());
          return out;
        }
        std::string reply;
        ByteWriter w(reply);
        Codec<ModelDigest>::encode(model.digest(), w);
        Codec<ModelSummary>::encode(model.summary(*d), w);
        out.emplace_back(kSummary, std::move(reply));
        return out;
      }
      case kRepair: {
        auto s = decode<ModelSummary>(f.payload, "summary");
        if (!s) {
          fail(s.error().message());
          return out;
        }
        auto parts = split(model.delta_for(*s), opt.max_batch_entries);
        for (std::size_t i = 0; i < parts.size(); ++i) {
          std::string reply;
          ByteWriter w(reply);
          w.u8(i + 1 == parts.size() ? 1 : 0);
          Codec<ModelDelta>::encode(parts[i], w);
          stats.entries_sent += parts[i].size();
          out.emplace_back(kDelta, std::move(reply));
        }
        return out;
      }
      default:
        fail("unexpected frame type " + std::to_string(f.type));
        return out;
    }
  }

  void serve(int fd) {
    block_sigpipe();
    auto ch = detail::Channel::accept(tls, fds, fd, opt.io_timeout);
    if (!ch) {
      if (ch.error().code != std::errc::operation_canceled) {
        stats.handshake_failures++;
        spdlog::warn("nexus: refused a peer connection: {}", ch.error().message());
      }
      return;  // the Channel closed the socket
    }
    auto f = receive(*ch);
    if (!f) return;
    auto hello = f->type == kHello ? decode_hello(f->payload) : std::nullopt;
    if (!hello || hello->version != kProtocolVersion || hello->topic != opt.topic) {
      stats.protocol_errors++;
      (void)send(*ch, kError,
                 encode_message("expected hello for protocol version " +
                                std::to_string(kProtocolVersion) + ", topic " + opt.topic));
      return;
    }
    if (!send(*ch, kHello, encode_hello({kProtocolVersion, opt.topic, model.replica_id()}))) return;
    // The client runs anti-entropy every interval: silence for three intervals means it is gone.
    ch->set_timeout(std::max(opt.io_timeout, opt.rebroadcast_interval * 3));
    for (;;) {
      auto req = receive(*ch);
      if (!req) {
        if (req.error().code != std::errc::connection_reset && !fds.stopping())
          spdlog::debug("nexus: inbound {} ({}): {}", ch->peer(), hello->replica_id,
                        req.error().message());
        return;
      }
      const std::string peer = hello->replica_id + " (" + ch->peer() + ")";
      auto replies = workers.submit([this, &req, &peer] { return handle(*req, peer); }).get();
      for (const auto& [type, payload] : replies) {
        if (!send(*ch, type, payload)) return;
        if (type == kError) return;
      }
    }
  }

  void accept_loop() {
    for (;;) {
      const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        if (fds.stopping()) return;
        if (errno == EINTR || errno == ECONNABORTED) continue;
        spdlog::warn("nexus: accept on port {}: {}", port, std::strerror(errno));
        std::this_thread::sleep_for(milliseconds(100));
        continue;
      }
      std::lock_guard lock(mu);
      for (auto it = inbound.begin(); it != inbound.end();) {
        if ((*it)->done) {
          (*it)->thread.join();
          it = inbound.erase(it);
        } else {
          ++it;
        }
      }
      if (stopping || inbound.size() >= opt.max_inbound) {
        if (!stopping) stats.refused++;
        ::close(fd);
        continue;
      }
      stats.accepted++;
      auto in = std::make_unique<Inbound>();
      Inbound* raw = in.get();
      in->thread = std::thread([this, fd, raw] {
        serve(fd);
        raw->done = true;
      });
      inbound.push_back(std::move(in));
    }
  }

  // ---- DNS and housekeeping

  void resolve_dns() {
    auto hp = detail::split_host_port(opt.dns, opt.listen_port);
    if (!hp) return;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    const int rc =
        ::getaddrinfo(hp->first.c_str(), std::to_string(hp->second).c_str(), &hints, &res);
    if (rc != 0) {
      spdlog::debug("nexus: resolving {}: {}", hp->first, ::gai_strerror(rc));
      return;  // keep the peers we know
    }
    std::set<std::string> found;
    for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
      sockaddr_storage ss{};
      std::memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
      found.insert(detail::address_text(ss));
    }
    ::freeaddrinfo(res);
    std::vector<std::unique_ptr<Link>> gone;
    {
      std::lock_guard lock(mu);
      dns_resolved = true;
      for (const auto& a : found) add_link(a, true);
      for (auto it = links.begin(); it != links.end();) {
        Link& l = *it->second;
        if (l.from_dns && found.count(it->first) == 0 &&
            std::find(opt.peers.begin(), opt.peers.end(), it->first) == opt.peers.end()) {
          spdlog::info("nexus: peer {} left {}", it->first, opt.dns);
          l.removed = true;
          gone.push_back(std::move(it->second));
          it = links.erase(it);
        } else {
          ++it;
        }
      }
      evaluate_ready();
    }
    cv.notify_all();
    for (auto& l : gone) l->thread.join();
  }

  void maintain() {
    auto next_dns = Clock::now();
    for (;;) {
      if (!opt.dns.empty() && Clock::now() >= next_dns) {
        resolve_dns();
        // Until the name resolves at all, try again soon (the service may be appearing).
        std::lock_guard lock(mu);
        next_dns = Clock::now() + (dns_resolved ? opt.rebroadcast_interval
                                                : std::min<milliseconds>(opt.rebroadcast_interval,
                                                                         milliseconds(1000)));
      }
      std::unique_lock lock(mu);
      evaluate_ready();
      // Re-check readiness often while waiting for it (the initial sync has a deadline).
      const auto wait = ready ? opt.rebroadcast_interval
                              : std::min<milliseconds>(opt.rebroadcast_interval, milliseconds(100));
      if (cv.wait_for(lock, wait, [&] { return stopping; })) return;
    }
  }
};

Result<void> validate_replication_options(const ReplicationOptions& o) {
  const auto& a = o.auth;
  if (a.uses_certificates()) {
    if (!a.secret.empty())
      return make_error(std::errc::invalid_argument,
                        "peer authentication: choose a shared secret or certificates, not both");
    if (a.key_file.empty() || a.ca_file.empty())
      return make_error(std::errc::invalid_argument,
                        "peer authentication by certificate needs cert_file, key_file and ca_file");
  } else if (a.secret.empty()) {
    return make_error(std::errc::invalid_argument,
                      "peer traffic must be authenticated: set a shared secret or certificates");
  } else if (a.secret.size() < 16) {
    return make_error(std::errc::invalid_argument,
                      "the peer secret is too short (at least 16 characters)");
  }
  for (const auto& p : o.peers) {
    if (auto hp = detail::split_host_port(p, o.listen_port); !hp)
      return make_error(std::errc::invalid_argument, "peer " + hp.error().message());
  }
  if (!o.dns.empty()) {
    if (auto hp = detail::split_host_port(o.dns, o.listen_port); !hp)
      return make_error(std::errc::invalid_argument, "dns " + hp.error().message());
  }
  if (o.topic.empty() || o.topic.size() > 128)
    return make_error(std::errc::invalid_argument, "topic must be 1-128 characters");
  if (o.num_workers == 0 || o.num_workers > 1024)
    return make_error(std::errc::invalid_argument, "num_workers must be 1-1024");
  if (o.rebroadcast_interval < milliseconds(10))
    return make_error(std::errc::invalid_argument, "rebroadcast_interval must be at least 10ms");
  if (o.max_batch_entries == 0 || o.max_frame_bytes < 4096 || o.max_inbound == 0)
    return make_error(std::errc::invalid_argument, "frame and batch limits must be positive");
  return ok();
}

Replicator::Replicator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Replicator::~Replicator() { stop(); }

Result<std::unique_ptr<Replicator>> Replicator::start(Model& model, ReplicationOptions options) {
  if (auto v = validate_replication_options(options); !v) return v.error();
  auto tls = detail::TlsContext::create(options.auth, options.topic);
  if (!tls) return tls.error();

  auto impl = std::make_unique<Impl>(model, std::move(options));
  Impl& i = *impl;
  i.tls = std::move(*tls);
  i.dns_resolved = i.opt.dns.empty();

  // Listen first: a bind error is a start-up error naming the address.
  const std::string where = i.opt.listen_address + ":" + std::to_string(i.opt.listen_port);
  addrinfo hints{};
  hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (::getaddrinfo(i.opt.listen_address.c_str(), std::to_string(i.opt.listen_port).c_str(), &hints,
                    &res) != 0 ||
      res == nullptr)
    return make_error(std::errc::invalid_argument,
                      "peer listen address '" + i.opt.listen_address + "' is not an IP address");
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(res, &::freeaddrinfo);
  i.listen_fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (i.listen_fd < 0) return errno_error(errno, "peer socket for " + where);
  const int one = 1;
  ::setsockopt(i.listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (res->ai_family == AF_INET6) {
    const int zero = 0;
    ::setsockopt(i.listen_fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
  }
  if (::bind(i.listen_fd, res->ai_addr, res->ai_addrlen) != 0 || ::listen(i.listen_fd, 128) != 0) {
    const int err = errno;
    ::close(i.listen_fd);
    return errno_error(err, "peer listen on " + where);
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  ::getsockname(i.listen_fd, reinterpret_cast<sockaddr*>(&bound), &len);
  i.port = bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                       : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  i.fds.add(i.listen_fd);

  model.set_change_listener([p = impl.get()] {
    {
      std::lock_guard lock(p->mu);
      p->change_gen++;
      const auto now = Clock::now();
      for (auto& [addr, l] : p->links)
        if (!l->self && !l->pending_since) l->pending_since = now;
    }
    p->cv.notify_all();
  });

  {
    std::lock_guard lock(i.mu);
    for (const auto& p : i.opt.peers) i.add_link(p, false);
    i.evaluate_ready();
  }
  i.acceptor = std::thread([p = impl.get()] { p->accept_loop(); });
  i.maintainer = std::thread([p = impl.get()] { p->maintain(); });
  spdlog::info("nexus: replica {} replicating on port {} ({} static peer(s){}{}), {} auth",
               model.replica_id(), i.port, i.opt.peers.size(), i.opt.dns.empty() ? "" : ", DNS ",
               i.opt.dns, i.opt.auth.uses_certificates() ? "mutual TLS" : "shared-secret TLS");
  return std::unique_ptr<Replicator>(new Replicator(std::move(impl)));
}

std::uint16_t Replicator::port() const noexcept { return impl_->port; }

void Replicator::resync() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->resync_gen++;
  }
  impl_->cv.notify_all();
}

bool Replicator::flush(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    {
      std::unique_lock lock(impl_->mu);
      bool done = true;
      for (const auto& [addr, l] : impl_->links)
        if (l->connected && !l->self && l->pending_since) done = false;
      if (done) return true;
      if (Clock::now() >= deadline) return false;
      impl_->cv.wait_for(lock, milliseconds(20));
    }
  }
}

ReplicationStatus Replicator::status() const {
  ReplicationStatus s;
  auto& i = *impl_;
  {
    std::lock_guard lock(i.mu);
    i.evaluate_ready();
    s.initial_sync_done = i.ready;
    s.initial_sync_detail = i.ready_detail;
    const auto now = Clock::now();
    for (const auto& [addr, l] : i.links) {
      if (l->self) continue;
      PeerStatus p;
      p.address = addr;
      p.replica_id = l->replica_id;
      p.connected = l->connected;
      p.synced = l->synced;
      p.last_sync_ms = l->last_sync_ms;
      p.last_error = l->last_error;
      if (l->pending_since)
        p.lag_seconds = std::chrono::duration<double>(now - *l->pending_since).count();
      s.peers.push_back(std::move(p));
    }
  }
  auto& c = i.stats;
  s.stats =
      ReplicationStats{c.accepted,        c.handshake_failures, c.protocol_errors, c.frames_sent,
                       c.frames_received, c.bytes_sent,         c.bytes_received,  c.pushes,
                       c.entries_sent,    c.entries_applied,    c.rounds,          c.repairs,
                       c.refused};
  return s;
}

void Replicator::stop() {
  auto& i = *impl_;
  {
    std::lock_guard lock(i.mu);
    if (i.stopping) return;
    i.stopping = true;
  }
  i.model.set_change_listener({});
  i.cv.notify_all();
  i.fds.shutdown_all();  // wakes accept, connects, reads and writes
  if (i.maintainer.joinable()) i.maintainer.join();
  if (i.acceptor.joinable()) i.acceptor.join();
  std::map<std::string, std::unique_ptr<Link>> links;
  std::list<std::unique_ptr<Inbound>> inbound;
  {
    std::lock_guard lock(i.mu);
    links.swap(i.links);
    inbound.swap(i.inbound);
  }
  for (auto& [addr, l] : links) l->thread.join();
  for (auto& in : inbound) in->thread.join();
  i.workers.stop();
  ::close(i.listen_fd);
  i.fds.remove(i.listen_fd);
}

}  // namespace bngkit::nexus
