// Shared by the nexus system benchmarks: child processes started and stopped by PID, free
// loopback ports, a keep-alive HTTP/1.1 client, and a nexus.toml writer.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace nexus_bench {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

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

inline bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
                       std::chrono::milliseconds step = 20ms) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(step);
  }
  return pred();
}

/// A child process, stopped by its PID (SIGTERM, then SIGKILL) when it goes out of scope.
class Process {
 public:
  Process(const std::vector<std::string>& argv, const fs::path& log) {
    const int out = ::open(log.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out, 1);
      ::dup2(out, 2);
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
    ::close(out);
  }
  ~Process() { stop(); }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] bool running() const { return pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == 0; }
  /// SIGTERM, up to `grace` to exit, then SIGKILL. Returns the exit status.
  int stop(std::chrono::milliseconds grace = 20s) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    int status = 0;
    const auto deadline = Clock::now() + grace;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (Clock::now() >= deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(10ms);
    }
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  pid_t pid_ = -1;
};

/// A keep-alive HTTP/1.1 connection to 127.0.0.1:port that reconnects when needed.
class HttpClient {
 public:
  explicit HttpClient(std::uint16_t port) : port_(port) {}
  ~HttpClient() { close(); }
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  struct Reply {
    int status = 0;
    std::string body;
  };

  Reply request(const std::string& method, const std::string& target, const std::string& body = "",
                const std::string& extra_headers = "") {
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (fd_ < 0 && !connect()) return {};
      std::string req = method + " " + target +
                        " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
                        extra_headers + "Content-Length: " + std::to_string(body.size()) +
                        "\r\n\r\n" + body;
      if (write_all(req)) {
        Reply r;
        if (read_reply(r)) return r;
      }
      close();  // the server closed an idle connection: once more on a fresh one
    }
    return {};
  }

 private:
  bool connect() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port_);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval tv{30, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      close();
      return false;
    }
    buf_.clear();
    return true;
  }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  bool write_all(const std::string& s) {
    std::size_t sent = 0;
    while (sent < s.size()) {
      const ssize_t n = ::send(fd_, s.data() + sent, s.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<std::size_t>(n);
    }
    return true;
  }
  bool fill() {
    char tmp[65536];
    const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<std::size_t>(n));
    return true;
  }
  bool read_reply(Reply& r) {
    std::size_t head_end;
    while ((head_end = buf_.find("\r\n\r\n")) == std::string::npos)
      if (!fill()) return false;
    std::string head = buf_.substr(0, head_end);
    buf_.erase(0, head_end + 4);
    if (head.compare(0, 9, "HTTP/1.1 ") != 0) return false;
    r.status = std::atoi(head.c_str() + 9);
    for (auto& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    bool keep = head.find("connection: close") == std::string::npos;
    if (head.find("transfer-encoding: chunked") != std::string::npos) {
      for (;;) {
        std::size_t eol;
        while ((eol = buf_.find("\r\n")) == std::string::npos)
          if (!fill()) return false;
        const std::size_t n = std::strtoul(buf_.c_str(), nullptr, 16);
        while (buf_.size() < eol + 2 + n + 2)
          if (!fill()) return false;
        r.body += buf_.substr(eol + 2, n);
        buf_.erase(0, eol + 2 + n + 2);
        if (n == 0) break;
      }
    } else {
      const auto at = head.find("content-length: ");
      const std::size_t n =
          at == std::string::npos ? 0 : std::strtoul(head.c_str() + at + 16, nullptr, 10);
      while (buf_.size() < n)
        if (!fill()) return false;
      r.body = buf_.substr(0, n);
      buf_.erase(0, n);
    }
    if (!keep) close();
    return true;
  }

  std::uint16_t port_;
  int fd_ = -1;
  std::string buf_;
};

/// A nexus.toml for one replica on loopback.
struct NexusNode {
  std::string id;
  std::uint16_t http_port = free_port();
  std::uint16_t metrics_port = free_port();
  std::uint16_t p2p_port = free_port();

  void write_config(const fs::path& dir, const std::vector<std::string>& peers,
                    const std::vector<std::string>& owners) const {
    auto list = [](const std::vector<std::string>& v) {
      std::string out = "[";
      for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", \"" : "\"") + v[i] + "\"";
      return out + "]";
    };
    fs::create_directories(dir);
    std::ofstream cfg(dir / "nexus.toml");
    fs::permissions(dir / "nexus.toml", fs::perms::owner_read | fs::perms::owner_write);  // secret inline
    cfg << "[server]\nbind = \"127.0.0.1\"\nhttp_port = " << http_port
        << "\nmetrics_port = " << metrics_port << "\nthreads = 8\n[node]\nid = \"" << id
        << "\"\npool_owners = " << list(owners) << "\n";
    if (!peers.empty())
      cfg << "[p2p]\nbind = \"127.0.0.1\"\nlisten_port = " << p2p_port
          << "\npeers = " << list(peers) << "\nsecret = \"benchmark-secret-0123456789abcdef\"\n";
    cfg << "[storage]\npath = \"" << (dir / "data").string()
        << "\"\n[clset]\nrebroadcast_interval = \"2s\"\n"
        << "num_workers = 4\n[graceful_shutdown]\ngrace_period = \"0s\"\n[log]\nlevel = \"warn\"\n";
  }
};

/// Percentile of sorted samples.
inline double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace nexus_bench
