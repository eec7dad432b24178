// Test fixtures for the fanout's network-namespace tests: namespaces removed on
// destruction, a client -> fanout -> N receivers topology over veth pairs, code run
// inside a namespace, UDP receivers that count and check what they get (and can echo
// health probes), senders, child processes killed on destruction, and a tiny HTTP GET.
#pragma once

#include <bngkit/fanout/endpoint.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace fotest {

using bngkit::fanout::Endpoint;
using Clock = std::chrono::steady_clock;

/// True when this process may create namespaces, raw sockets and BPF programs.
inline bool have_net_admin() {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (::syscall(SYS_capget, &hdr, data) != 0) return ::geteuid() == 0;
  auto has = [&](int cap) { return (data[cap / 32].effective & (1U << (cap % 32))) != 0; };
  return has(CAP_SYS_ADMIN) && has(CAP_NET_ADMIN) && has(CAP_NET_RAW);
}

#define FANOUT_REQUIRE_NET_ADMIN()                                                       \
  do {                                                                                   \
    if (!::fotest::have_net_admin())                                                     \
      GTEST_SKIP() << "needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_NET_RAW): creates " \
                      "network namespaces and raw sockets";                              \
  } while (0)

/// Runs a shell command quietly; its exit status (0: success).
inline int sh(const std::string& cmd) {
  const int rc = std::system((cmd + " >/dev/null 2>&1").c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/// Output (stdout and stderr) of a shell command.
inline std::string sh_out(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
  ::pclose(p);
  return out;
}

/// A unique tag per call in this process: names of namespaces and devices include it.
inline std::string unique_tag() {
  static std::atomic<int> counter{0};
  return std::to_string(::getpid()) + "x" + std::to_string(counter++);
}

/// A named network namespace, deleted (with its devices) on destruction.
class Netns {
 public:
  explicit Netns(std::string name) : name_(std::move(name)) {
    ok_ = sh("ip netns add " + name_) == 0 && sh("ip -n " + name_ + " link set lo up") == 0;
  }
  ~Netns() { sh("ip netns del " + name_); }
  Netns(const Netns&) = delete;
  Netns& operator=(const Netns&) = delete;
  [[nodiscard]] const std::string& name() const { return name_; }
  [[nodiscard]] bool ok() const { return ok_; }
  /// "ip -n <name> " for commands run in it.
  [[nodiscard]] std::string ip() const { return "ip -n " + name_ + " "; }

 private:
  std::string name_;
  bool ok_ = false;
};

/// Runs `fn` on a thread that entered namespace `ns` (empty: stays in this one); sockets
/// it creates (and threads it starts) live in that namespace.
template <typename Fn>
auto in_netns(const std::string& ns, Fn&& fn) -> decltype(fn()) {
  using R = decltype(fn());
  if (ns.empty()) return fn();
  std::optional<R> result;
  std::thread t([&] {
    const int fd = ::open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) {
      std::fprintf(stderr, "cannot enter netns %s: %s\n", ns.c_str(), std::strerror(errno));
      std::abort();
    }
    ::close(fd);
    result.emplace(fn());
  });
  t.join();
  return std::move(*result);
}

/// client (10.77.0.2, dev c0) <-> fanout (10.77.0.1, dev f0); and for each receiver i:
/// fanout (10.78.i.1, dev r<i>) <-> receiver i (10.78.i.2, dev d0, default route back).
/// Forwarding is on in the fanout namespace (the TC engine's fib look-ups need it).
struct Topology {
  static constexpr const char* kFanoutAddr = "10.77.0.1";
  static constexpr const char* kClientAddr = "10.77.0.2";

  std::unique_ptr<Netns> client, fanout;
  std::vector<std::unique_ptr<Netns>> receivers;
  std::string error;

  explicit Topology(std::size_t n) {
    const std::string tag = unique_tag();
    client = std::make_unique<Netns>("foC" + tag);
    fanout = std::make_unique<Netns>("foF" + tag);
    if (!client->ok() || !fanout->ok()) {
      error = "ip netns add failed";
      return;
    }
    std::vector<std::string> cmds = {
        fanout->ip() + "link add f0 type veth peer name c0 netns " + client->name(),
        fanout->ip() + "addr add 10.77.0.1/24 dev f0",
        fanout->ip() + "link set f0 up",
        client->ip() + "addr add 10.77.0.2/24 dev c0",
        client->ip() + "link set c0 up",
        client->ip() + "route add default via 10.77.0.1",
        "ip netns exec " + fanout->name() + " sysctl -qw net.ipv4.ip_forward=1",
    };
    for (std::size_t i = 0; i < n; ++i) {
      receivers.push_back(std::make_unique<Netns>("foR" + std::to_string(i) + "-" + tag));
      const auto& r = *receivers.back();
      const std::string net = "10.78." + std::to_string(i) + ".";
      const std::string dev = "r" + std::to_string(i);
      cmds.push_back(fanout->ip() + "link add " + dev + " type veth peer name d0 netns " +
                     r.name());
      cmds.push_back(fanout->ip() + "addr add " + net + "1/24 dev " + dev);
      cmds.push_back(fanout->ip() + "link set " + dev + " up");
      cmds.push_back(r.ip() + "addr add " + net + "2/24 dev d0");
      cmds.push_back(r.ip() + "link set d0 up");
      cmds.push_back(r.ip() + "route add default via " + net + "1");
    }
    for (const auto& c : cmds) {
      if (sh(c) != 0) {
        error = "failed: " + c;
        return;
      }
    }
  }
  [[nodiscard]] bool ok() const { return error.empty(); }

  /// Address of receiver i ("10.78.i.2").
  static std::string receiver_addr(std::size_t i) { return "10.78." + std::to_string(i) + ".2"; }
  static Endpoint receiver_endpoint(std::size_t i, std::uint16_t port) {
    return Endpoint::parse(receiver_addr(i) + ":" + std::to_string(port)).value();
  }
  /// Receiver i's own end of its link down (or up): from the fanout's side the link
  /// and route stay, but nothing answers any more — a host that died.
  [[nodiscard]] int set_receiver_link(std::size_t i, bool up) const {
    return sh(receivers[i]->ip() + "link set d0" + (up ? " up" : " down") +
              (up ? " && " + receivers[i]->ip() + "route replace default via 10.78." +
                        std::to_string(i) + ".1"
                  : ""));
  }
};

/// Payload of datagram `seq` of stream `stream`: self-describing so receivers check it.
inline std::string make_payload(std::uint32_t stream, std::uint32_t seq, std::size_t len) {
  std::string p = "s" + std::to_string(stream) + "#" + std::to_string(seq) + "#";
  while (p.size() < len) p.push_back(static_cast<char>('a' + (seq + p.size()) % 26));
  return p;
}

/// Parses make_payload's prefix and checks the filler; false when damaged.
inline bool parse_payload(const std::string& p, std::uint32_t* stream, std::uint32_t* seq) {
  unsigned s = 0, q = 0;
  int consumed = 0;
  if (std::sscanf(p.c_str(), "s%u#%u#%n", &s, &q, &consumed) != 2 || consumed <= 0) return false;
  for (std::size_t i = static_cast<std::size_t>(consumed); i < p.size(); ++i) {
    if (p[i] != static_cast<char>('a' + (q + i) % 26)) return false;
  }
  *stream = s;
  *seq = q;
  return true;
}

constexpr std::string_view kProbePrefix = "bngkit-fanout-probe ";

/// A UDP receiver in a namespace: a thread records every datagram (checking its
/// payload) and, when asked, echoes health probes back. stop() closes the socket, as a
/// killed receiver would; start() opens it again.
class Receiver {
 public:
  Receiver(std::string ns, Endpoint bind, bool echo_probes)
      : ns_(std::move(ns)), bind_(bind), echo_(echo_probes) {}
  ~Receiver() { stop(); }
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  bool start() {
    stop();
    fd_ = in_netns(ns_, [&] {
      const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      const int big = 16 << 20;
      ::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
      sockaddr_in sa{};
      sa.sin_family = AF_INET;
      sa.sin_addr.s_addr = bind_.address_be;
      sa.sin_port = htons(bind_.port);
      socklen_t len = sizeof sa;
      if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
          ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
        ::close(fd);
        return -1;
      }
      bind_.port = ntohs(sa.sin_port);  // port 0 picks a free one, kept for restarts
      return fd;
    });
    if (fd_ < 0) return false;
    running_ = true;
    thread_ = std::thread([this] { loop(); });
    return true;
  }

  void stop() {
    if (!thread_.joinable()) return;
    running_ = false;
    thread_.join();
    ::close(fd_);
    fd_ = -1;
  }

  /// Where it listens (the port chosen when it was bound to port 0).
  [[nodiscard]] Endpoint endpoint() const { return bind_; }
  /// Datagrams received (probes excluded), and how many were damaged or duplicated.
  [[nodiscard]] std::size_t count() const {
    std::lock_guard l(mu_);
    return total_;
  }
  [[nodiscard]] std::size_t damaged() const {
    std::lock_guard l(mu_);
    return damaged_;
  }
  [[nodiscard]] std::size_t duplicates() const {
    std::lock_guard l(mu_);
    return duplicates_;
  }
  /// Sequence numbers received on `stream`.
  [[nodiscard]] std::set<std::uint32_t> seqs(std::uint32_t stream) const {
    std::lock_guard l(mu_);
    auto it = seen_.find(stream);
    return it == seen_.end() ? std::set<std::uint32_t>{} : it->second;
  }
  /// Source addresses seen (network order).
  [[nodiscard]] std::set<std::uint32_t> sources() const {
    std::lock_guard l(mu_);
    return sources_;
  }
  [[nodiscard]] std::size_t probes_echoed() const { return probes_; }
  void reset() {
    std::lock_guard l(mu_);
    total_ = damaged_ = duplicates_ = 0;
    seen_.clear();
    sources_.clear();
  }

 private:
  void loop() {
    std::vector<char> buf(65536);
    while (running_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      sockaddr_in from{};
      socklen_t len = sizeof from;
      const ssize_t n = ::recvfrom(fd_, buf.data(), buf.size(), MSG_DONTWAIT,
                                   reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 0) continue;
      const std::string payload(buf.data(), static_cast<std::size_t>(n));
      if (payload.rfind(kProbePrefix, 0) == 0) {
        if (echo_) {
          ::sendto(fd_, buf.data(), static_cast<std::size_t>(n), 0,
                   reinterpret_cast<sockaddr*>(&from), len);
          ++probes_;
        }
        continue;
      }
      std::uint32_t stream = 0, seq = 0;
      std::lock_guard l(mu_);
      ++total_;
      sources_.insert(from.sin_addr.s_addr);
      if (!parse_payload(payload, &stream, &seq)) {
        ++damaged_;
        continue;
      }
      if (!seen_[stream].insert(seq).second) ++duplicates_;
    }
  }

  std::string ns_;
  Endpoint bind_;
  bool echo_;
  int fd_ = -1;
  std::atomic<bool> running_{false};
  std::atomic<std::size_t> probes_{0};
  std::thread thread_;
  mutable std::mutex mu_;
  std::size_t total_ = 0, damaged_ = 0, duplicates_ = 0;
  std::map<std::uint32_t, std::set<std::uint32_t>> seen_;
  std::set<std::uint32_t> sources_;
};

/// A UDP sender socket created in a namespace (optionally bound to a source port).
class Sender {
 public:
  Sender(const std::string& ns, std::uint16_t source_port = 0) {
    fd_ = in_netns(ns, [&] {
      const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      const int big = 8 << 20;
      ::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof big);
      if (source_port != 0) {
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(source_port);
        ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
      }
      return fd;
    });
  }
  ~Sender() {
    if (fd_ >= 0) ::close(fd_);
  }
  Sender(const Sender&) = delete;
  Sender& operator=(const Sender&) = delete;

  /// Sends datagrams seq in [first, first+count) of `stream`, pausing briefly every
  /// `burst` datagrams so no queue on the path overflows. Returns how many were sent.
  std::size_t send(const Endpoint& to, std::uint32_t stream, std::uint32_t first,
                   std::uint32_t count, std::size_t len = 200, std::uint32_t burst = 64) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = to.address_be;
    sa.sin_port = htons(to.port);
    std::size_t sent = 0;
    for (std::uint32_t i = 0; i < count; ++i) {
      const auto p = make_payload(stream, first + i, len);
      if (::sendto(fd_, p.data(), p.size(), 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa) ==
          static_cast<ssize_t>(p.size())) {
        ++sent;
      }
      if (burst != 0 && (i + 1) % burst == 0)
        std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
    return sent;
  }
  [[nodiscard]] int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

/// A UDP port free on `addr` in namespace `ns` right now.
inline std::uint16_t free_udp_port(const std::string& ns = "", const char* addr = "127.0.0.1") {
  return in_netns(ns, [&] {
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    ::inet_pton(AF_INET, addr, &sa.sin_addr);
    socklen_t len = sizeof sa;
    ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
    ::close(fd);
    return ntohs(sa.sin_port);
  });
}

/// Polls `pred` every 10 ms until it holds or `timeout` passes.
inline bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

/// A forked child process, SIGKILLed and reaped on destruction.
class Child {
 public:
  Child() = default;
  explicit Child(pid_t pid) : pid_(pid) {}
  ~Child() { kill(); }
  Child(Child&& o) noexcept : pid_(std::exchange(o.pid_, -1)) {}
  Child& operator=(Child&& o) noexcept {
    kill();
    pid_ = std::exchange(o.pid_, -1);
    return *this;
  }
  [[nodiscard]] pid_t pid() const { return pid_; }
  /// Sends `sig`; SIGKILL also reaps.
  void kill(int sig = SIGKILL) {
    if (pid_ <= 0) return;
    ::kill(pid_, sig);
    if (sig == SIGKILL) {
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }
  /// Waits up to `timeout` for the child to exit; its exit status, or -1.
  int wait_exit(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (pid_ > 0 && Clock::now() < deadline) {
      int status = 0;
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -1;
  }

 private:
  pid_t pid_ = -1;
};

/// Runs argv in namespace `ns` (empty: this one) as a child, stdout/stderr to `log`.
inline Child spawn(const std::string& ns, const std::vector<std::string>& argv,
                   const std::string& log) {
  const pid_t pid = ::fork();
  if (pid != 0) return Child(pid);
  if (!ns.empty()) {
    const int fd = ::open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) ::_exit(120);
  }
  const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out >= 0) {
    ::dup2(out, 1);
    ::dup2(out, 2);
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  ::execv(args[0], args.data());
  ::_exit(121);
}

/// A UDP echo server child process in `ns` on `bind` (echoes health probes only and
/// counts nothing): what a health probe sees of a real receiver process.
inline Child spawn_echo_process(const std::string& ns, const Endpoint& bind) {
  const pid_t pid = ::fork();
  if (pid != 0) return Child(pid);
  const int nsfd = ::open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
  if (nsfd < 0 || ::setns(nsfd, CLONE_NEWNET) != 0) ::_exit(120);
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = bind.address_be;
  sa.sin_port = htons(bind.port);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) ::_exit(122);
  char buf[2048];
  for (;;) {
    sockaddr_in from{};
    socklen_t len = sizeof from;
    const ssize_t n = ::recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n > 0 && std::string_view(buf, static_cast<std::size_t>(n)).rfind(kProbePrefix, 0) == 0) {
      ::sendto(fd, buf, static_cast<std::size_t>(n), 0, reinterpret_cast<sockaddr*>(&from), len);
    }
  }
}

/// GET http://addr:port/path from namespace `ns`; status and body (status 0: no answer).
inline std::pair<int, std::string> http_get(const std::string& ns, const std::string& addr,
                                            std::uint16_t port, const std::string& path) {
  return in_netns(ns, [&]() -> std::pair<int, std::string> {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    ::inet_pton(AF_INET, addr.c_str(), &sa.sin_addr);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
      ::close(fd);
      return {0, ""};
    }
    const std::string req =
        "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nConnection: close\r\n\r\n";
    ::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
    std::string resp;
    char buf[4096];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;)
      resp.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    int status = 0;
    std::sscanf(resp.c_str(), "HTTP/1.1 %d", &status);
    const auto body = resp.find("\r\n\r\n");
    return {status, body == std::string::npos ? "" : resp.substr(body + 4)};
  });
}

}  // namespace fotest
