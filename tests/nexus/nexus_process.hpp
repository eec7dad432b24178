// Test support for the nexus daemon as a real process: temporary directories, free ports,
// a small blocking HTTP client (optionally from inside a network namespace), and a Daemon
// that writes its config, starts `nexus run`, and is SIGKILLed if a test forgets it.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace nexus_test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "nexus-test") {
    std::string tmpl = (fs::temp_directory_path() / (prefix + "-XXXXXX")).string();
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

/// A loopback port nothing listens on right now.
inline std::uint16_t free_port() {
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

inline bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return pred();
}

/// Runs `f` on a thread that joined the network namespace /run/netns/<netns> (empty: here),
/// so sockets it opens live there.
template <typename F>
auto in_netns(const std::string& netns, F&& f) -> decltype(f()) {
  if (netns.empty()) return f();
  std::optional<decltype(f())> out;
  std::thread t([&] {
    const int fd = ::open(("/run/netns/" + netns).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0 && ::setns(fd, CLONE_NEWNET) == 0) out = f();
    if (fd >= 0) ::close(fd);
  });
  t.join();
  if (!out) return decltype(f()){};
  return std::move(*out);
}

struct HttpReply {
  int status = 0;  ///< 0: no answer (connection refused, timeout)
  std::string body;
  [[nodiscard]] boost::json::value json() const {
    boost::system::error_code ec;
    auto v = boost::json::parse(body, ec);
    return ec ? boost::json::value() : v;
  }
};

/// One HTTP/1.1 request over a fresh connection, "Connection: close", bounded by `timeout`.
inline HttpReply http(const std::string& host, std::uint16_t port, const std::string& method,
                      const std::string& target, const std::string& body = "",
                      const std::string& token = "", std::chrono::milliseconds timeout = 10s) {
  HttpReply r;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return r;
  timeval tv{static_cast<time_t>(timeout.count() / 1000),
             static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  ::inet_pton(AF_INET, host.c_str(), &a.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return r;
  }
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: " + host +
                    "\r\nConnection: close\r\nContent-Type: application/json\r\n";
  if (!token.empty()) req += "Authorization: Bearer " + token + "\r\n";
  req += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  std::size_t sent = 0;
  while (sent < req.size()) {
    const ssize_t n = ::send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      ::close(fd);
      return r;
    }
    sent += static_cast<std::size_t>(n);
  }
  std::string resp;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    resp.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  const auto head_end = resp.find("\r\n\r\n");
  if (resp.compare(0, 9, "HTTP/1.1 ") != 0 || head_end == std::string::npos) return r;
  r.status = std::atoi(resp.c_str() + 9);
  std::string head = resp.substr(0, head_end);
  std::string rest = resp.substr(head_end + 4);
  for (auto& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (head.find("transfer-encoding: chunked") != std::string::npos) {
    std::size_t pos = 0;
    for (;;) {
      const auto eol = rest.find("\r\n", pos);
      if (eol == std::string::npos) break;
      const std::size_t n = std::strtoul(rest.c_str() + pos, nullptr, 16);
      if (n == 0) break;
      r.body += rest.substr(eol + 2, n);
      pos = eol + 2 + n + 2;
    }
  } else {
    r.body = rest;
  }
  return r;
}

/// Runs `command` (argv) and returns its exit status and combined output.
inline std::pair<int, std::string> run_command(const std::vector<std::string>& argv) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return {-1, ""};
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(pipefd[1], 1);
    ::dup2(pipefd[1], 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ::close(pipefd[1]);
  std::string out;
  char buf[4096];
  ssize_t n = 0;
  while ((n = ::read(pipefd[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  ::close(pipefd[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

/// One `nexus run` process with its own config, store and log file.
class Daemon {
 public:
  struct Options {
    std::string id;
    std::string netns;                   ///< run inside /run/netns/<netns> (empty: here)
    std::string api_host = "127.0.0.1";  ///< where the test reaches its API
    std::uint16_t http_port = 0;
    std::uint16_t metrics_port = 0;
    std::uint16_t p2p_port = 0;
    std::string bind = "127.0.0.1";
    std::vector<std::string> peers;
    std::vector<std::string> owners;
    std::string secret = "integration-test-secret-0123456789";
    std::string token;
    std::string storage;       ///< store directory (empty: <dir>/<id>/data)
    std::string grace = "0s";  ///< graceful_shutdown.grace_period
    std::string extra;         ///< more TOML appended to the config
  };

  Daemon(std::string binary, const fs::path& dir, Options o)
      : binary_(std::move(binary)), dir_(dir / o.id), o_(std::move(o)) {
    fs::create_directories(dir_);
    auto q = [](const std::string& s) { return "\"" + s + "\""; };
    auto list = [&](const std::vector<std::string>& v) {
      std::string out = "[";
      for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + q(v[i]);
      return out + "]";
    };
    std::ofstream cfg(config());
    // It holds the peer secret (and token) inline: nexus refuses it world-readable.
    fs::permissions(config(), fs::perms::owner_read | fs::perms::owner_write);
    cfg << "[server]\nbind = " << q(o_.bind) << "\nhttp_port = " << o_.http_port
        << "\nmetrics_port = " << o_.metrics_port << "\nthreads = 4\n";
    if (!o_.token.empty()) cfg << "token = " << q(o_.token) << "\n";
    cfg << "[node]\nid = " << q(o_.id)
        << "\nrole = \"core\"\nregion = \"test\"\npool_owners = " << list(o_.owners) << "\n";
    cfg << "[p2p]\nbind = " << q(o_.bind) << "\nlisten_port = " << o_.p2p_port
        << "\npeers = " << list(o_.peers) << "\nsecret = " << q(o_.secret)
        << "\nconnect_timeout = \"1s\"\nio_timeout = \"3s\"\ninitial_sync_timeout = \"5s\"\n";
    cfg << "[storage]\npath = " << q(o_.storage.empty() ? (dir_ / "data").string() : o_.storage)
        << "\n";
    cfg << "[clset]\ntopic = \"nexus-state\"\nrebroadcast_interval = \"1s\"\nnum_workers = 4\n";
    cfg << "[graceful_shutdown]\ntimeout = \"20s\"\ngrace_period = " << q(o_.grace) << "\n";
    cfg << "[log]\nlevel = \"info\"\n";
    cfg << o_.extra;
  }
  ~Daemon() { kill(SIGKILL); }
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  [[nodiscard]] fs::path config() const { return dir_ / "nexus.toml"; }
  [[nodiscard]] fs::path log() const { return dir_ / "nexus.log"; }
  [[nodiscard]] const Options& options() const { return o_; }
  [[nodiscard]] pid_t pid() const { return pid_; }

  void start() {
    const int out = ::open(log().c_str(), O_CREAT | O_WRONLY | O_APPEND | O_CLOEXEC, 0644);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out, 1);
      ::dup2(out, 2);
      // Die with the test, whatever happens to it.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (o_.netns.empty()) {
        ::execl(binary_.c_str(), binary_.c_str(), "run", "--config", config().c_str(), nullptr);
      } else {
        ::execlp("ip", "ip", "netns", "exec", o_.netns.c_str(), binary_.c_str(), "run", "--config",
                 config().c_str(), nullptr);
      }
      ::_exit(127);
    }
    ::close(out);
  }

  /// Waits until /ready answers 200.
  bool wait_ready(std::chrono::milliseconds timeout = 20s) {
    return wait_until([&] { return get("/ready").status == 200; }, timeout);
  }

  /// Sends `sig`; for SIGKILL also reaps the process. Returns the exit status when reaped.
  std::optional<int> kill(int sig) {
    if (pid_ <= 0) return std::nullopt;
    ::kill(pid_, sig);
    if (sig != SIGKILL) return std::nullopt;
    return wait(10s);
  }

  /// Waits for the process to end; its exit code (128+signal when killed).
  std::optional<int> wait(std::chrono::milliseconds timeout) {
    if (pid_ <= 0) return std::nullopt;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    for (;;) {
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) break;
      if (std::chrono::steady_clock::now() >= deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(10ms);
    }
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  HttpReply request(const std::string& method, const std::string& target,
                    const std::string& body = "", std::chrono::milliseconds timeout = 10s) const {
    return in_netns(o_.netns, [&] {
      return http(o_.api_host, o_.http_port, method, target, body, o_.token, timeout);
    });
  }
  HttpReply get(const std::string& target) const { return request("GET", target, "", 3s); }
  HttpReply metrics() const {
    return in_netns(o_.netns,
                    [&] { return http(o_.api_host, o_.metrics_port, "GET", "/metrics"); });
  }

 private:
  std::string binary_;
  fs::path dir_;
  Options o_;
  pid_t pid_ = -1;
};

}  // namespace nexus_test
