// The peer channel: TLS 1.3 over a blocking TCP socket with per-operation timeouts, carrying
// length-prefixed frames. Authentication is a TLS 1.3 external PSK derived from the shared
// secret and topic, or mutual certificate verification against a cluster CA.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <bngkit/common/result.hpp>
#include <bngkit/nexus/replication.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

struct ssl_ctx_st;
struct ssl_st;

namespace bngkit::nexus::detail {

/// The PSK identity and key a replica uses for `topic` and `secret` (see README).
std::string psk_identity(std::string_view topic);
std::string psk_key(std::string_view secret, std::string_view topic);

/// File descriptors that stop() must be able to interrupt: shutdown() wakes a thread blocked
/// in connect/accept/read/write on them.
class FdRegistry {
 public:
  /// False once shutdown_all() ran (the caller must close the fd and give up).
  bool add(int fd);
  void remove(int fd);
  void shutdown_all();
  [[nodiscard]] bool stopping() const;

 private:
  mutable std::mutex mu_;
  std::set<int> fds_;
  bool stopping_ = false;
};

/// An SSL_CTX set up for both roles (a replica connects and accepts with the same context).
class TlsContext {
 public:
  static Result<std::shared_ptr<TlsContext>> create(const PeerAuth& auth, std::string topic);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;
  [[nodiscard]] ssl_ctx_st* get() const noexcept { return ctx_; }
  [[nodiscard]] const std::string& identity() const noexcept { return identity_; }
  [[nodiscard]] const std::string& key() const noexcept { return key_; }

 private:
  TlsContext() = default;
  ssl_ctx_st* ctx_ = nullptr;
  std::string identity_;
  std::string key_;
};

/// One frame: a type byte and its payload.
struct Frame {
  std::uint8_t type = 0;
  std::string payload;
};

/// An authenticated connection. Move-only; closes its socket when destroyed.
class Channel {
 public:
  /// Resolves nothing: connects to `addr`, then runs the TLS handshake as client.
  static Result<Channel> connect(const std::shared_ptr<TlsContext>& tls, FdRegistry& fds,
                                 const sockaddr_storage& addr, socklen_t addr_len,
                                 std::chrono::milliseconds connect_timeout,
                                 std::chrono::milliseconds io_timeout);
  /// Takes an accepted socket and runs the TLS handshake as server.
  static Result<Channel> accept(const std::shared_ptr<TlsContext>& tls, FdRegistry& fds, int fd,
                                std::chrono::milliseconds io_timeout);

  Channel(Channel&& o) noexcept;
  Channel& operator=(Channel&& o) noexcept;
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;
  ~Channel();

  /// Writes one frame: u32 big-endian length of (type + payload), type, payload.
  [[nodiscard]] Result<std::size_t> send(std::uint8_t type, std::string_view payload);
  /// Reads one frame of at most `max_bytes`.
  [[nodiscard]] Result<Frame> receive(std::size_t max_bytes, std::size_t* wire_bytes = nullptr);
  /// Bound on each later read and write.
  void set_timeout(std::chrono::milliseconds timeout);
  /// The remote address as text ("10.0.0.2:40212").
  [[nodiscard]] const std::string& peer() const noexcept { return peer_; }

 private:
  Channel() = default;
  void close() noexcept;
  [[nodiscard]] Result<void> read_exact(char* out, std::size_t n);

  std::shared_ptr<TlsContext> tls_;
  FdRegistry* fds_ = nullptr;
  ssl_st* ssl_ = nullptr;
  int fd_ = -1;
  bool healthy_ = false;  // no error seen: close() may say goodbye (close_notify)
  std::string peer_;
};

/// "host:port" / "[v6]:port" / "host" split into host and port (default_port when absent).
Result<std::pair<std::string, std::uint16_t>> split_host_port(std::string_view text,
                                                              std::uint16_t default_port);
/// An address as "a.b.c.d:port" or "[v6]:port".
std::string address_text(const sockaddr_storage& addr);

}  // namespace bngkit::nexus::detail
