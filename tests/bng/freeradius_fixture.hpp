// FreeRADIUS 3.2 as a real peer in GoogleTest: a raddb written from the stock one (through
// tests/integration/lib/freeradius.sh, the same harness the shell tests use), radiusd on free
// loopback ports, ready once it answers a Status-Server, stopped by PID. Tests skip with a
// clear message when FreeRADIUS is not installed.
//
//   BNGKIT_REQUIRE_FREERADIUS();
//   FreeRadiusServer radius({.users = "alice Cleartext-Password := \"pw\"\n"});
//   ASSERT_TRUE(radius.start()) << radius.error();
//   ... radius.auth_port(), radius.acct_port(), radius.detail_file() ...
#pragma once

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bngkit/bng/radius/auth.hpp>
#include <bngkit/bng/radius/packet.hpp>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#ifndef BNGKIT_FREERADIUS_SH
#error "BNGKIT_FREERADIUS_SH (path of tests/integration/lib/freeradius.sh) must be defined"
#endif

namespace bngkit::bng::radius::test {

/// Quotes `s` for a POSIX shell.
inline std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

/// Runs a bash command with freeradius.sh sourced; returns its exit status.
inline int run_with_harness(const std::string& command) {
  const std::string script = "source " + shell_quote(BNGKIT_FREERADIUS_SH) + " && " + command;
  const int status = std::system(("bash -c " + shell_quote(script)).c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/// True when freeradius, radclient and a readable stock raddb are there.
inline bool freeradius_installed() { return run_with_harness("fr_available") == 0; }

#define BNGKIT_REQUIRE_FREERADIUS()                                                            \
  do {                                                                                         \
    if (!::bngkit::bng::radius::test::freeradius_installed()) {                                \
      GTEST_SKIP() << "FreeRADIUS 3.2 is not installed (Debian packages freeradius and "       \
                      "freeradius-utils; scripts/install-deps.sh installs them) or its "       \
                      "/etc/freeradius/3.0 is not readable (run as root or in group freerad)"; \
    }                                                                                          \
  } while (false)

/// A UDP port that was free a moment ago (bound to port 0, then released).
inline std::uint16_t free_udp_port() {
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  std::uint16_t port = 0;
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  if (fd >= 0) ::close(fd);
  return port;
}

struct FreeRadiusConfig {
  std::string users;  ///< FreeRADIUS users file (mods-config/files/authorize)
  /// clients.conf; the default lets 127.0.0.1 in with "testing123".
  std::string clients = "client test {\n\tipaddr = 127.0.0.1\n\tsecret = testing123\n}\n";
  /// The secret of 127.0.0.1 in `clients`, for the readiness probe.
  std::string probe_secret = "testing123";
};

class FreeRadiusServer {
 public:
  explicit FreeRadiusServer(FreeRadiusConfig config) : config_(std::move(config)) {
    char name[] = "/tmp/bngkit-freeradius-XXXXXX";
    if (::mkdtemp(name) != nullptr) dir_ = name;
  }
  ~FreeRadiusServer() {
    stop();
    std::error_code ignored;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
  }
  FreeRadiusServer(const FreeRadiusServer&) = delete;
  FreeRadiusServer& operator=(const FreeRadiusServer&) = delete;

  /// Writes the configuration, starts radiusd and waits until it answers a Status-Server.
  /// On failure error() says why (with the end of the server's log).
  [[nodiscard]] bool start() {
    if (dir_.empty()) return fail("cannot create a temporary directory");
    std::ofstream(dir_ / "users") << config_.users;
    std::ofstream(dir_ / "clients.conf") << config_.clients;
    for (int attempt = 0; attempt < 3; ++attempt) {  // a port may be taken between probe and bind
      auth_port_ = free_udp_port();
      acct_port_ = free_udp_port();
      if (auth_port_ == 0 || acct_port_ == 0 || auth_port_ == acct_port_) continue;
      const int rc = run_with_harness(
          "fr_start " + shell_quote(dir_.string()) + " " + std::to_string(auth_port_) + " " +
          std::to_string(acct_port_) + " 2>" + shell_quote((dir_ / "start.err").string()));
      if (rc == 0) {
        running_ = true;
        if (answers_status_server()) return true;
        return fail("radiusd started but did not answer a Status-Server on port " +
                    std::to_string(auth_port_));
      }
    }
    return fail("fr_start failed: " + read(dir_ / "start.err"));
  }

  /// Stops radiusd (by the PID the harness recorded); safe to call twice.
  void stop() {
    if (!running_) return;
    run_with_harness("fr_stop " + shell_quote(dir_.string()));
    running_ = false;
  }

  [[nodiscard]] std::uint16_t auth_port() const { return auth_port_; }
  [[nodiscard]] std::uint16_t acct_port() const { return acct_port_; }
  [[nodiscard]] const std::filesystem::path& dir() const { return dir_; }
  [[nodiscard]] const std::string& error() const { return error_; }
  /// Today's accounting detail file of requests from `client`.
  [[nodiscard]] std::filesystem::path detail_file(const std::string& client = "127.0.0.1") const {
    return capture("fr_detail_file " + shell_quote(dir_.string()) + " " + client);
  }
  [[nodiscard]] std::string detail() const { return read(detail_file()); }
  [[nodiscard]] std::string log() const { return read(dir_ / "log" / "radius.log"); }

  static std::string read(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

 private:
  bool fail(std::string why) {
    error_ = std::move(why);
    const auto log_text = log();
    if (!log_text.empty())
      error_ += "\n--- radius.log ---\n" +
                log_text.substr(log_text.size() > 2000 ? log_text.size() - 2000 : 0);
    stop();
    return false;
  }

  [[nodiscard]] std::string capture(const std::string& command) const {
    const auto out = dir_ / "capture.out";
    run_with_harness(command + " >" + shell_quote(out.string()));
    auto text = read(out);
    while (!text.empty() && text.back() == '\n') text.pop_back();
    return text;
  }

  /// A Status-Server (RFC 5997, with its Message-Authenticator) answered within 5 s.
  bool answers_status_server() const {
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) return false;
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons(auth_port_);
    bool answered = false;
    for (int attempt = 0; attempt < 10 && !answered; ++attempt) {
      Packet probe(Code::kStatusServer, static_cast<std::uint8_t>(attempt));
      probe.authenticator = random_authenticator().value_or(Authenticator{});
      EncodeOptions options;
      options.add_message_authenticator = true;
      auto wire = encode(probe, config_.probe_secret, options);
      if (!wire) break;
      ::sendto(fd, wire->data(), wire->size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 500) == 1) {
        std::uint8_t buffer[4096];
        const auto n = ::recv(fd, buffer, sizeof buffer, 0);
        answered = n >= 20 && verify_response({buffer, static_cast<std::size_t>(n)},
                                              probe.authenticator, config_.probe_secret)
                                  .ok();
      }
    }
    ::close(fd);
    return answered;
  }

  FreeRadiusConfig config_;
  std::filesystem::path dir_;
  std::uint16_t auth_port_ = 0;
  std::uint16_t acct_port_ = 0;
  bool running_ = false;
  std::string error_;
};

/// Runs `radclient` with `input` on stdin; returns its output and sets `status`.
inline std::string radclient(const std::string& args, const std::string& input, int& status) {
  char name[] = "/tmp/bngkit-radclient-XXXXXX";
  const int fd = ::mkstemp(name);
  if (fd < 0) {
    status = -1;
    return "cannot create a temporary file";
  }
  ::close(fd);
  const std::filesystem::path in = name;
  std::ofstream(in) << input;
  const auto out = in.string() + ".out";
  const int rc = std::system(
      ("radclient " + args + " <" + shell_quote(in.string()) + " >" + shell_quote(out) + " 2>&1")
          .c_str());
  status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  auto text = FreeRadiusServer::read(out);
  std::filesystem::remove(in);
  std::filesystem::remove(out);
  return text;
}

}  // namespace bngkit::bng::radius::test
