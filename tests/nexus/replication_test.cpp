// Replication over real TCP on loopback: push as changes happen, anti-entropy repairing what
// pushes cannot (state from before, a restore), three replicas allocating concurrently,
// readiness, lag, DNS and self-detection; and authentication: a party without the secret
// (or without a CA-signed certificate) can neither read nor write state. A TLS client
// written here from the README's description (PSK derivation, framing) checks the wire.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bngkit/nexus/model.hpp>
#include <bngkit/nexus/replication.hpp>
#include <bngkit/nexus/store.hpp>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <thread>

namespace bngkit::nexus {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kSecret = "correct horse battery staple";

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "nexus-repl-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// A port nothing listens on right now (the kernel's choice for an ephemeral bind).
std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

std::unique_ptr<Model> make_model(const std::string& id, Store* store = nullptr) {
  ModelOptions o;
  o.replica_id = id;
  auto m = Model::open(store, o);
  if (!m) {
    ADD_FAILURE() << m.error().message();
    std::abort();
  }
  return std::move(m).value();
}

Pool pool(const char* id, const char* cidr, std::vector<std::string> owners) {
  Pool p;
  p.id = id;
  p.network = *Prefix::parse(cidr);
  p.owners = std::move(owners);
  return p;
}

ReplicationOptions options(std::uint16_t port, std::vector<std::string> peers) {
  ReplicationOptions o;
  o.listen_address = "127.0.0.1";
  o.listen_port = port;
  o.peers = std::move(peers);
  o.auth.secret = kSecret;
  o.rebroadcast_interval = 500ms;
  o.num_workers = 4;
  o.connect_timeout = 1s;
  o.io_timeout = 5s;
  o.initial_sync_timeout = 5s;
  return o;
}

std::string at(std::uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

std::unique_ptr<Replicator> start(Model& m, ReplicationOptions o) {
  auto r = Replicator::start(m, std::move(o));
  if (!r) {
    ADD_FAILURE() << r.error().message();
    std::abort();
  }
  return std::move(r).value();
}

// N replicas on loopback, each listing all others.
struct Cluster {
  std::vector<std::unique_ptr<Model>> models;
  std::vector<std::unique_ptr<Replicator>> reps;
  std::vector<std::uint16_t> ports;

  explicit Cluster(int n, const std::function<void(int, ReplicationOptions&)>& tweak = {}) {
    for (int i = 0; i < n; ++i) ports.push_back(free_port());
    for (int i = 0; i < n; ++i) models.push_back(make_model("r" + std::to_string(i)));
    for (int i = 0; i < n; ++i) start_one(i, tweak);
  }
  void start_one(int i, const std::function<void(int, ReplicationOptions&)>& tweak = {}) {
    std::vector<std::string> peers;
    for (int j = 0; j < static_cast<int>(ports.size()); ++j)
      if (j != i) peers.push_back(at(ports[static_cast<std::size_t>(j)]));
    auto o = options(ports[static_cast<std::size_t>(i)], peers);
    if (tweak) tweak(i, o);
    if (reps.size() <= static_cast<std::size_t>(i)) reps.resize(static_cast<std::size_t>(i) + 1);
    reps[static_cast<std::size_t>(i)] = start(*models[static_cast<std::size_t>(i)], o);
  }
  bool converged() const {
    for (std::size_t i = 1; i < models.size(); ++i)
      if (!models[0]->same_state(*models[i])) return false;
    return true;
  }
};

TEST(Replication, PushesChangesAsTheyHappen) {
  // Anti-entropy every hour: whatever arrives within seconds was pushed.
  Cluster c(2, [](int, ReplicationOptions& o) { o.rebroadcast_interval = 3600s; });
  ASSERT_TRUE(wait_until([&] {
    return c.reps[0]->status().initial_sync_done && c.reps[1]->status().initial_sync_done;
  }));
  ASSERT_TRUE(c.models[0]->create_pool(pool("p", "10.0.0.0/16", {"r0", "r1"})).ok());
  ASSERT_TRUE(wait_until([&] { return c.models[1]->pool("p").has_value(); }, 5s));
  auto a = c.models[1]->allocate("p", "sub-1");
  ASSERT_TRUE(a.ok()) << a.error().message();
  ASSERT_TRUE(wait_until([&] { return c.models[0]->allocation("p", "sub-1").has_value(); }, 5s));
  EXPECT_EQ(c.models[0]->allocation("p", "sub-1")->address, a->allocation.address);
  // The same subscriber asking the other replica gets the same address.
  auto again = c.models[0]->allocate("p", "sub-1");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->allocation.address, a->allocation.address);
  ASSERT_TRUE(c.models[0]->heartbeat({"olt-1", "", "", {}}).ok());
  ASSERT_TRUE(wait_until([&] { return c.models[1]->node("olt-1").has_value(); }, 5s));
  ASSERT_TRUE(c.reps[0]->flush(5s));
  ASSERT_TRUE(c.reps[1]->flush(5s));
  EXPECT_TRUE(wait_until([&] { return c.converged(); }, 5s));
  EXPECT_GT(c.reps[1]->status().stats.pushes, 0U);
  const auto s = c.reps[0]->status();
  ASSERT_EQ(s.peers.size(), 1U);
  EXPECT_EQ(s.peers[0].replica_id, "r1");
  EXPECT_TRUE(s.peers[0].connected);
  EXPECT_TRUE(s.peers[0].synced);
  EXPECT_EQ(s.peers[0].lag_seconds, 0.0);
  EXPECT_GT(s.stats.pushes, 0U);
  EXPECT_GT(s.stats.entries_applied, 0U);
  EXPECT_EQ(s.stats.handshake_failures, 0U);
  EXPECT_EQ(s.stats.protocol_errors, 0U);
}

// Every thread of a daemon takes signals: SIGTERM lands on any of them, and dropping
// capabilities signals each one. A blocking read on a socket with a timeout returns EINTR
// then, even under SA_RESTART; links must ride over that, not reconnect.
TEST(Replication, SignalsToReplicationThreadsDoNotBreakLinks) {
  struct sigaction noop {}, previous {};
  noop.sa_handler = [](int) {};
  noop.sa_flags = SA_RESTART;
  sigemptyset(&noop.sa_mask);
  ASSERT_EQ(::sigaction(SIGUSR1, &noop, &previous), 0);
  Cluster c(2, [](int, ReplicationOptions& o) { o.rebroadcast_interval = 200ms; });
  ASSERT_TRUE(wait_until([&] {
    return c.reps[0]->status().peers[0].connected && c.reps[1]->status().peers[0].connected &&
           c.reps[0]->status().initial_sync_done && c.reps[1]->status().initial_sync_done;
  }));
  ASSERT_TRUE(c.models[0]->create_pool(pool("p", "10.0.0.0/16", {"r0", "r1"})).ok());
  ASSERT_TRUE(wait_until([&] { return c.models[1]->pool("p").has_value(); }, 5s));
  const auto accepted_before =
      c.reps[0]->status().stats.connections_accepted + c.reps[1]->status().stats.connections_accepted;

  const int self = static_cast<int>(::syscall(SYS_gettid));
  std::size_t signals = 0;
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(c.models[static_cast<std::size_t>(i % 2)]->allocate("p", "sub-" + std::to_string(i)).ok());
    for (const auto& task : fs::directory_iterator("/proc/self/task")) {
      const int tid = std::atoi(task.path().filename().c_str());
      if (tid != self && ::syscall(SYS_tgkill, ::getpid(), tid, SIGUSR1) == 0) ++signals;
    }
    std::this_thread::sleep_for(2ms);
  }
  EXPECT_GT(signals, 1000U);
  ASSERT_TRUE(c.reps[0]->flush(5s));
  ASSERT_TRUE(c.reps[1]->flush(5s));
  EXPECT_TRUE(wait_until([&] { return c.converged(); }, 5s));
  EXPECT_EQ(c.models[0]->allocations().size(), 300U);
  const auto s0 = c.reps[0]->status(), s1 = c.reps[1]->status();
  EXPECT_EQ(s0.stats.connections_accepted + s1.stats.connections_accepted, accepted_before)
      << "a link was dropped and made again";
  EXPECT_TRUE(s0.peers[0].connected);
  EXPECT_TRUE(s1.peers[0].connected);
  EXPECT_EQ(s0.stats.handshake_failures + s1.stats.handshake_failures, 0U);
  EXPECT_EQ(s0.stats.protocol_errors + s1.stats.protocol_errors, 0U);
  c.reps.clear();
  ::sigaction(SIGUSR1, &previous, nullptr);
}

TEST(Replication, AntiEntropyBringsStateFromBeforeBothWays) {
  auto a = make_model("a");
  auto b = make_model("b");
  ASSERT_TRUE(a->create_pool(pool("p", "10.1.0.0/16", {"a", "b"})).ok());
  ASSERT_TRUE(b->merge(a->full_delta()).ok());
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(a->allocate("p", "a-" + std::to_string(i)).ok());
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(b->allocate("p", "b-" + std::to_string(i)).ok());
  ASSERT_TRUE(b->heartbeat({"olt-1", "10.9.9.9", "east", {}}).ok());
  const auto pa = free_port();
  const auto pb = free_port();
  // Only a knows about b: a's anti-entropy must carry b's state back as well.
  auto rb = start(*b, options(pb, {}));
  auto ra = start(*a, options(pa, {at(pb)}));
  // The state can match a moment before the round that carried it is counted as done.
  ASSERT_TRUE(wait_until([&] { return a->same_state(*b) && ra->status().initial_sync_done; }));
  EXPECT_EQ(a->allocations("p").size(), 500U);
  EXPECT_TRUE(a->node("olt-1").has_value());
  EXPECT_TRUE(ra->status().initial_sync_done);
  EXPECT_NE(ra->status().initial_sync_detail.find("all 1 peer"), std::string::npos)
      << ra->status().initial_sync_detail;
  EXPECT_GE(ra->status().stats.anti_entropy_repairs, 500U);
}

TEST(Replication, ThreeReplicasAllocatingConcurrentlyConverge) {
  Cluster c(3);
  ASSERT_TRUE(c.models[0]->create_pool(pool("p", "10.2.0.0/20", {"r0", "r1", "r2"})).ok());
  ASSERT_TRUE(wait_until(
      [&] { return c.models[1]->pool("p").has_value() && c.models[2]->pool("p").has_value(); }));
  // Every replica allocates its own subscribers and some shared ones at the same time.
  std::vector<std::thread> writers;
  std::vector<std::map<std::string, IpAddress>> acked(3);
  for (int r = 0; r < 3; ++r) {
    writers.emplace_back([&, r] {
      for (int i = 0; i < 150; ++i) {
        const std::string sub = i % 3 == 0 ? "shared-" + std::to_string(i)
                                           : "r" + std::to_string(r) + "-" + std::to_string(i);
        auto a = c.models[static_cast<std::size_t>(r)]->allocate("p", sub);
        ASSERT_TRUE(a.ok()) << a.error().message();
        acked[static_cast<std::size_t>(r)][sub] = a->allocation.address;
      }
    });
  }
  for (auto& t : writers) t.join();
  ASSERT_TRUE(wait_until([&] { return c.converged(); }, 20s));
  const auto all = c.models[0]->allocations("p");
  std::set<IpAddress> addresses;
  std::map<std::string, IpAddress> by_sub;
  for (const auto& a : all) {
    EXPECT_TRUE(addresses.insert(a.address).second) << "duplicate " << a.address.to_string();
    by_sub[a.subscriber_id] = a.address;
  }
  // Nothing acknowledged is lost; a subscriber's own-replica allocations keep their address.
  for (int r = 0; r < 3; ++r)
    for (const auto& [sub, addr] : acked[static_cast<std::size_t>(r)]) {
      ASSERT_TRUE(by_sub.count(sub)) << sub << " lost";
      if (sub.rfind("shared-", 0) != 0) {
        EXPECT_EQ(by_sub[sub], addr) << sub;
      }
    }
  EXPECT_TRUE(c.models[0]->conflicts().empty());
}

TEST(Replication, RestoreFromAnOldBackupIsRepairedByResync) {
  TempDir dir;
  auto sa = Store::open(dir.path() / "a.db");
  ASSERT_TRUE(sa.ok());
  auto a = make_model("a", &*sa);
  auto b = make_model("b");
  const auto pa = free_port();
  const auto pb = free_port();
  auto slow = [](ReplicationOptions o) {
    o.rebroadcast_interval = 3600s;
    return o;
  };
  auto ra = start(*a, slow(options(pa, {at(pb)})));
  auto rb = start(*b, slow(options(pb, {at(pa)})));
  ASSERT_TRUE(a->create_pool(pool("p", "10.3.0.0/24", {"a", "b"})).ok());
  ASSERT_TRUE(a->backup(dir.path() / "old.db").ok());
  ASSERT_TRUE(a->allocate("p", "late").ok());
  ASSERT_TRUE(wait_until([&] { return b->allocation("p", "late").has_value(); }));
  ASSERT_TRUE(a->restore(dir.path() / "old.db").ok());
  EXPECT_FALSE(a->allocation("p", "late").has_value());
  // b has nothing new to push; a's resync asks for what it lacks.
  ra->resync();
  ASSERT_TRUE(wait_until([&] { return a->allocation("p", "late").has_value(); }));
  EXPECT_TRUE(wait_until([&] { return a->same_state(*b); }));
}

TEST(Replication, ReadinessDoesNotWaitForUnreachablePeersAndGivesUpOnSilentOnes) {
  {
    auto m = make_model("alone");
    auto o = options(free_port(), {at(free_port())});  // nothing listens there
    auto r = start(*m, o);
    ASSERT_TRUE(wait_until([&] { return r->status().initial_sync_done; }, 3s));
    const auto s = r->status();
    ASSERT_EQ(s.peers.size(), 1U);
    EXPECT_FALSE(s.peers[0].connected);
    EXPECT_NE(s.peers[0].last_error.find("refused"), std::string::npos) << s.peers[0].last_error;
  }
  {
    // A peer that accepts TCP but never answers the handshake: bounded by the sync timeout.
    const int silent = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(silent, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(::listen(silent, 8), 0);
    socklen_t len = sizeof a;
    ::getsockname(silent, reinterpret_cast<sockaddr*>(&a), &len);
    auto m = make_model("waiting");
    auto o = options(free_port(), {at(ntohs(a.sin_port))});
    o.initial_sync_timeout = 1500ms;
    o.io_timeout = 10s;
    const auto began = std::chrono::steady_clock::now();
    auto r = start(*m, o);
    std::this_thread::sleep_for(500ms);
    EXPECT_FALSE(r->status().initial_sync_done);
    EXPECT_NE(r->status().initial_sync_detail.find("waiting"), std::string::npos);
    ASSERT_TRUE(wait_until([&] { return r->status().initial_sync_done; }, 5s));
    EXPECT_GE(std::chrono::steady_clock::now() - began, 1400ms);
    EXPECT_NE(r->status().initial_sync_detail.find("gave up"), std::string::npos);
    r.reset();
    ::close(silent);
  }
}

TEST(Replication, LagGrowsWhileAPeerIsDownAndClearsAfterItReturns) {
  Cluster c(2);
  ASSERT_TRUE(wait_until([&] { return c.converged() && c.reps[0]->status().peers[0].synced; }));
  c.reps[1].reset();  // r1 stops serving
  ASSERT_TRUE(c.models[0]->create_pool(pool("p", "10.4.0.0/24", {})).ok());
  std::this_thread::sleep_for(600ms);
  auto s = c.reps[0]->status();
  ASSERT_EQ(s.peers.size(), 1U);
  EXPECT_GE(s.peers[0].lag_seconds, 0.5);
  EXPECT_FALSE(s.peers[0].connected);
  c.start_one(1);
  ASSERT_TRUE(wait_until([&] { return c.converged(); }));
  ASSERT_TRUE(wait_until([&] { return c.reps[0]->status().peers[0].connected; }));
  ASSERT_TRUE(c.reps[0]->flush(5s));
  EXPECT_EQ(c.reps[0]->status().peers[0].lag_seconds, 0.0);
}

TEST(Replication, DnsPeersAndItsOwnAddressAreHandled) {
  auto a = make_model("a");
  auto b = make_model("b");
  const auto pa = free_port();
  const auto pb = free_port();
  // a finds b by name; a also lists itself, as a shared config for all replicas would.
  auto oa = options(pa, {at(pa)});
  oa.dns = "localhost:" + std::to_string(pb);
  oa.listen_address = "::";
  auto ob = options(pb, {});
  ob.listen_address = "::";
  auto rb = start(*b, ob);
  auto ra = start(*a, oa);
  ASSERT_TRUE(b->create_pool(pool("p", "10.5.0.0/24", {})).ok());
  ASSERT_TRUE(wait_until([&] { return a->pool("p").has_value(); }));
  ASSERT_TRUE(wait_until([&] { return ra->status().initial_sync_done; }));
  for (const auto& p : ra->status().peers) {
    EXPECT_NE(p.address, at(pa)) << "its own address is not a peer";
    if (p.connected) {
      EXPECT_EQ(p.replica_id, "b");
    }
  }
}

TEST(ReplicationAuth, APeerWithAnotherSecretCanNeitherReadNorWrite) {
  auto a = make_model("a");
  auto intruder = make_model("x");
  ASSERT_TRUE(a->create_pool(pool("secret-pool", "10.6.0.0/24", {})).ok());
  ASSERT_TRUE(a->allocate("secret-pool", "victim").ok());
  ASSERT_TRUE(intruder->create_pool(pool("evil", "10.7.0.0/24", {})).ok());
  const auto pa = free_port();
  const auto px = free_port();
  auto ra = start(*a, options(pa, {at(px)}));
  auto ox = options(px, {at(pa)});
  ox.auth.secret = "not the right secret at all";
  auto rx = start(*intruder, ox);
  ASSERT_TRUE(wait_until([&] {
    return ra->status().stats.handshake_failures >= 2 && rx->status().stats.handshake_failures >= 2;
  }));
  std::this_thread::sleep_for(1s);  // several rounds of trying
  EXPECT_FALSE(a->pool("evil").has_value());
  EXPECT_FALSE(intruder->pool("secret-pool").has_value());
  EXPECT_EQ(intruder->allocations().size(), 0U);
  EXPECT_FALSE(rx->status().peers[0].connected);
  EXPECT_NE(rx->status().peers[0].last_error.find("TLS handshake"), std::string::npos)
      << rx->status().peers[0].last_error;
}

// ---- a client written from the README: TLS 1.3 with an external PSK, then frames

std::string hmac_sha256(const std::string& key, const std::string& data) {
  unsigned char out[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

struct TestPsk {
  std::string identity;
  std::string key;
};
TestPsk g_psk;

int test_use_session(SSL* ssl, const EVP_MD* md, const unsigned char** id, size_t* idlen,
                     SSL_SESSION** sess) {
  const unsigned char suite[2] = {0x13, 0x01};
  const SSL_CIPHER* cipher = SSL_CIPHER_find(ssl, suite);
  SSL_SESSION* s = SSL_SESSION_new();
  SSL_SESSION_set1_master_key(s, reinterpret_cast<const unsigned char*>(g_psk.key.data()),
                              g_psk.key.size());
  SSL_SESSION_set_cipher(s, cipher);
  SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION);
  if (md != nullptr && SSL_CIPHER_get_handshake_digest(cipher) != md) {
    SSL_SESSION_free(s);
    *sess = nullptr;
    *id = nullptr;
    *idlen = 0;
    return 1;
  }
  *sess = s;
  *id = reinterpret_cast<const unsigned char*>(g_psk.identity.data());
  *idlen = g_psk.identity.size();
  return 1;
}

class WireClient {
 public:
  // Connects to 127.0.0.1:port; with `psk` empty, speaks plain TCP.
  WireClient(std::uint16_t port, const std::string& secret, const std::string& topic, bool tls) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{3, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    if (!tls || !connected_) return;
    g_psk.identity = "bngkit-nexus/1/" + topic;
    g_psk.key = hmac_sha256(secret, "bngkit-nexus-psk/1/" + topic);
    ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx_, TLS1_3_VERSION);
    SSL_CTX_set_ciphersuites(ctx_, "TLS_AES_128_GCM_SHA256");
    SSL_CTX_set_psk_use_session_callback(ctx_, test_use_session);
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    handshake_ok_ = SSL_connect(ssl_) == 1;
    ERR_clear_error();
  }
  ~WireClient() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    if (ctx_ != nullptr) SSL_CTX_free(ctx_);
    ::close(fd_);
  }
  [[nodiscard]] bool handshake_ok() const { return handshake_ok_; }

  void send_frame(std::uint8_t type, const std::string& payload) {
    std::string b;
    const auto len = static_cast<std::uint32_t>(payload.size() + 1);
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<char>(len >> s));
    b.push_back(static_cast<char>(type));
    b += payload;
    write_raw(b);
  }
  void write_raw(const std::string& b) {
    if (ssl_ != nullptr) {
      SSL_write(ssl_, b.data(), static_cast<int>(b.size()));
    } else {
      (void)!::write(fd_, b.data(), b.size());
    }
  }
  // Everything readable until the peer closes or goes quiet.
  std::string read_all() {
    std::string out;
    char buf[4096];
    for (;;) {
      const int n = ssl_ != nullptr ? SSL_read(ssl_, buf, sizeof buf)
                                    : static_cast<int>(::read(fd_, buf, sizeof buf));
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    ERR_clear_error();
    return out;
  }
  // One frame: type and payload; nullopt when the connection ends first.
  std::optional<std::pair<std::uint8_t, std::string>> read_frame() {
    std::string head;
    if (!read_n(5, head)) return std::nullopt;
    const std::uint32_t len = (std::uint32_t(std::uint8_t(head[0])) << 24) |
                              (std::uint32_t(std::uint8_t(head[1])) << 16) |
                              (std::uint32_t(std::uint8_t(head[2])) << 8) | std::uint8_t(head[3]);
    std::string body;
    if (!read_n(len - 1, body)) return std::nullopt;
    return std::pair(static_cast<std::uint8_t>(head[4]), body);
  }

 private:
  bool read_n(std::size_t n, std::string& out) {
    out.resize(n);
    std::size_t got = 0;
    while (got < n) {
      const int r = SSL_read(ssl_, out.data() + got, static_cast<int>(n - got));
      if (r <= 0) return false;
      got += static_cast<std::size_t>(r);
    }
    return true;
  }
  int fd_ = -1;
  bool connected_ = false;
  bool handshake_ok_ = false;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
};

std::string hello(const std::string& topic, const std::string& id) {
  std::string out;
  ByteWriter w(out);
  w.u8(1);
  w.bytes(topic);
  w.bytes(id);
  return out;
}

TEST(ReplicationLimits, InboundConnectionsOverTheLimitAreClosedAndCounted) {
  auto a = make_model("a");
  auto o = options(0, {});
  o.max_inbound = 2;
  auto ra = start(*a, o);
  // Connections that never finish their handshake hold their slot until io_timeout.
  auto connect = [&] {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons(ra->port());
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
    return fd;
  };
  const int first = connect();
  const int second = connect();
  ASSERT_TRUE(wait_until([&] { return ra->status().stats.connections_accepted == 2; }, 3s));
  const int third = connect();
  char byte = 0;
  EXPECT_EQ(::recv(third, &byte, 1, 0), 0) << "closed at once, before any TLS";
  EXPECT_TRUE(wait_until([&] { return ra->status().stats.connections_refused == 1; }, 3s));
  EXPECT_EQ(ra->status().stats.connections_accepted, 2U);
  for (int fd : {first, second, third}) ::close(fd);
}

TEST(ReplicationAuth, TheWireIsTls13WithThePskTheReadmeDescribes) {
  auto a = make_model("a");
  ASSERT_TRUE(a->create_pool(pool("p", "10.8.0.0/24", {})).ok());
  ASSERT_TRUE(a->allocate("p", "subscriber-with-a-secret-name").ok());
  auto ra = start(*a, options(0, {}));

  // The right secret: hello, then a digest of an empty replica gets a summary of everything.
  WireClient good(ra->port(), kSecret, "nexus-state", true);
  ASSERT_TRUE(good.handshake_ok());
  good.send_frame(1, hello("nexus-state", "tester"));
  auto h = good.read_frame();
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->first, 1);
  EXPECT_EQ(h->second, hello("nexus-state", "a"));
  auto empty = make_model("tester");
  good.send_frame(4, encode(empty->digest()));
  auto summary = good.read_frame();
  ASSERT_TRUE(summary.has_value());
  ASSERT_EQ(summary->first, 5);
  ByteReader r(summary->second);
  ModelDigest digest;
  ModelSummary sum;
  ASSERT_TRUE(Codec<ModelDigest>::decode(r, digest));
  ASSERT_TRUE(Codec<ModelSummary>::decode(r, sum));
  EXPECT_EQ(digest, a->digest());
  EXPECT_EQ(sum.allocations.versions.size(), 1U);
  // A push from an authenticated peer is applied and acknowledged.
  auto other = make_model("tester");
  ASSERT_TRUE(other->create_pool(pool("pushed", "10.9.0.0/24", {})).ok());
  good.send_frame(2, encode(other->full_delta()));
  auto ack = good.read_frame();
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ(ack->first, 3);
  EXPECT_TRUE(a->pool("pushed").has_value());
  // Garbage from an authenticated peer: an error frame, the connection closes, state intact.
  good.send_frame(2, "\x01\x05garbage");
  auto err = good.read_frame();
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->first, 8);
  EXPECT_FALSE(good.read_frame().has_value());
  EXPECT_GE(ra->status().stats.protocol_errors, 1U);

  // The wrong secret: the handshake fails and nothing is read.
  WireClient bad(ra->port(), "a wrong secret value!", "nexus-state", true);
  EXPECT_FALSE(bad.handshake_ok());
  // The right secret under another topic: a different key, refused as well.
  WireClient other_topic(ra->port(), kSecret, "other-topic", true);
  EXPECT_FALSE(other_topic.handshake_ok());

  // Plain TCP speaking the frame protocol directly: no state comes back, nothing is written.
  WireClient plain(ra->port(), "", "", false);
  std::string frames;
  for (const auto& [type, payload] :
       std::vector<std::pair<std::uint8_t, std::string>>{{1, hello("nexus-state", "plain")},
                                                         {4, encode(empty->digest())},
                                                         {2, encode(other->full_delta())}}) {
    const auto len = static_cast<std::uint32_t>(payload.size() + 1);
    for (int s = 24; s >= 0; s -= 8) frames.push_back(static_cast<char>(len >> s));
    frames.push_back(static_cast<char>(type));
    frames += payload;
  }
  ASSERT_TRUE(other->create_pool(pool("plain-write", "10.10.0.0/24", {})).ok());
  plain.write_raw(frames);
  const std::string got = plain.read_all();
  EXPECT_EQ(got.find("subscriber-with-a-secret-name"), std::string::npos);
  EXPECT_LT(got.size(), 64U) << "at most a TLS alert";
  EXPECT_FALSE(a->pool("plain-write").has_value());
  EXPECT_TRUE(wait_until([&] { return ra->status().stats.handshake_failures >= 3; }, 3s));
}

// ---- mutual TLS with certificates made by the openssl tool

int sh(const std::string& cmd) {
  const int rc = std::system((cmd + " >/dev/null 2>&1").c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

bool make_ca(const fs::path& dir, const std::string& name) {
  const auto d = dir.string();
  return sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "
            "/CN=" +
            name + " -keyout " + d + "/" + name + ".key -out " + d + "/" + name + ".pem") == 0;
}

bool make_cert(const fs::path& dir, const std::string& ca, const std::string& name) {
  const auto d = dir.string();
  return sh("openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=" + name +
            " -keyout " + d + "/" + name + ".key -out " + d + "/" + name + ".csr") == 0 &&
         sh("openssl x509 -req -days 2 -in " + d + "/" + name + ".csr -CA " + d + "/" + ca +
            ".pem -CAkey " + d + "/" + ca + ".key -CAcreateserial -out " + d + "/" + name +
            ".pem") == 0;
}

TEST(ReplicationAuth, MutualTlsAcceptsOnlyCertificatesOfTheClusterCa) {
  TempDir dir;
  if (sh("openssl version") != 0) GTEST_SKIP() << "needs the openssl tool to make certificates";
  ASSERT_TRUE(make_ca(dir.path(), "cluster-ca"));
  ASSERT_TRUE(make_ca(dir.path(), "rogue-ca"));
  ASSERT_TRUE(make_cert(dir.path(), "cluster-ca", "n0"));
  ASSERT_TRUE(make_cert(dir.path(), "cluster-ca", "n1"));
  ASSERT_TRUE(make_cert(dir.path(), "rogue-ca", "rogue"));
  auto certs = [&](const std::string& name, const std::string& ca) {
    return [&dir, name, ca](ReplicationOptions& o) {
      o.auth.secret.clear();
      o.auth.cert_file = dir.path() / (name + ".pem");
      o.auth.key_file = dir.path() / (name + ".key");
      o.auth.ca_file = dir.path() / (ca + ".pem");
    };
  };
  const std::vector<std::function<void(ReplicationOptions&)>> setup = {
      certs("n0", "cluster-ca"), certs("n1", "cluster-ca"), certs("rogue", "cluster-ca")};
  Cluster c(3, [&](int i, ReplicationOptions& o) { setup[static_cast<std::size_t>(i)](o); });
  ASSERT_TRUE(c.models[0]->create_pool(pool("p", "10.11.0.0/24", {})).ok());
  ASSERT_TRUE(c.models[2]->create_pool(pool("rogue", "10.12.0.0/24", {})).ok());
  ASSERT_TRUE(wait_until([&] { return c.models[1]->pool("p").has_value(); }));
  std::this_thread::sleep_for(1s);
  EXPECT_FALSE(c.models[2]->pool("p").has_value()) << "the rogue replica read state";
  EXPECT_FALSE(c.models[0]->pool("rogue").has_value()) << "the rogue replica wrote state";
  EXPECT_FALSE(c.models[1]->pool("rogue").has_value());
  EXPECT_GT(c.reps[0]->status().stats.handshake_failures, 0U);
  EXPECT_TRUE(c.models[0]->same_state(*c.models[1]));

  // Certificate files that do not exist or do not match are start-up errors.
  auto m = make_model("z");
  auto o = options(0, {});
  certs("n0", "cluster-ca")(o);
  o.auth.key_file = dir.path() / "n1.key";
  auto r = Replicator::start(*m, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("n1.key"), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find("mismatch"), std::string::npos) << r.error().message();
}

TEST(ReplicationOptionsCheck, NamesWhatIsWrong) {
  auto msg = [](const ReplicationOptions& o) {
    auto r = validate_replication_options(o);
    return r.ok() ? std::string() : r.error().message();
  };
  ReplicationOptions o;
  EXPECT_NE(msg(o).find("must be authenticated"), std::string::npos);
  o.auth.secret = "short";
  EXPECT_NE(msg(o).find("too short"), std::string::npos);
  o.auth.secret = kSecret;
  EXPECT_EQ(msg(o), "");
  o.peers = {"nexus-1:99999"};
  EXPECT_NE(msg(o).find("nexus-1:99999"), std::string::npos);
  o.peers = {"nexus-1:33123", "[fd00::1]:33123", "10.0.0.1", "fd00::2"};
  EXPECT_EQ(msg(o), "");
  o.num_workers = 0;
  EXPECT_NE(msg(o).find("num_workers"), std::string::npos);
  o.num_workers = 4;
  o.auth.cert_file = "/etc/nexus/tls.crt";
  EXPECT_NE(msg(o).find("not both"), std::string::npos);
  o.auth.secret.clear();
  EXPECT_NE(msg(o).find("key_file"), std::string::npos);
  // A port already in use is a start-up error naming it.
  auto m = make_model("busy");
  auto first = Replicator::start(*m, options(0, {}));
  ASSERT_TRUE(first.ok());
  auto second = Replicator::start(*m, options((*first)->port(), {}));
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message().find(std::to_string((*first)->port())), std::string::npos);
}

}  // namespace
}  // namespace bngkit::nexus
