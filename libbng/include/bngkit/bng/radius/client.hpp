// RADIUS client (RFC 2865 authentication, RFC 2866 accounting) on an Asio io_context: several
// servers tried in order with per-attempt timeout, retransmissions, failover and a dead-server
// hold-down; identifiers managed per source socket (256 each, more sockets opened as needed,
// so thousands of requests can be in flight); every reply verified before it is handed back.
#pragma once

#include <array>
#include <bngkit/bng/dhcp/ipv4.hpp>
#include <bngkit/bng/export.hpp>
#include <bngkit/bng/radius/packet.hpp>
#include <bngkit/common/result.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace bngkit::bng::radius {

/// One RADIUS server. `host` is an IPv4/IPv6 literal or a name resolved once by create().
struct ServerConfig {
  std::string host;
  std::uint16_t auth_port = kAuthPort;
  std::uint16_t acct_port = kAcctPort;
  std::string secret;  ///< shared secret; never logged, never in stats or errors
};

struct ClientOptions {
  std::vector<ServerConfig> servers;        ///< tried in order; failover to the next
  std::chrono::milliseconds timeout{5000};  ///< per attempt
  unsigned retries = 3;                     ///< retransmissions per server before failing over
  /// A server on which a request exhausted its retries is skipped this long (hold-down).
  /// When every server is held down, requests try them all anyway, in order, so that a
  /// recovered server is noticed rather than every request failing for the hold-down.
  std::chrono::seconds dead_time{30};
  std::optional<Ipv4> nas_ip;  ///< added as NAS-IP-Address when the request has none
  std::string nas_identifier;  ///< added as NAS-Identifier when set and the request has none
  /// Drop replies without a Message-Authenticator (Blast-RADIUS defence). FreeRADIUS 3.2.1
  /// sends none in its replies, so it is off by default. Access-Requests always carry one.
  bool require_message_authenticator = false;
  /// Source sockets per server and port, 256 identifiers each: the in-flight limit.
  unsigned max_sockets_per_server = 64;
};

/// Latency of answered requests (from the last transmission to the verified reply), in the
/// shape of a Prometheus histogram: `counts[i]` are replies with latency <= kBounds[i] and
/// above the previous bound (not cumulative); `counts.back()` those above the last bound.
struct LatencyHistogram {
  static constexpr std::array<double, 14> kBounds{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                  0.1,    0.25,  0.5,    1.0,   2.5,  5.0,   10.0};
  std::array<std::uint64_t, kBounds.size() + 1> counts{};
  double sum_seconds = 0;
  std::uint64_t count = 0;
};

/// Counters of one server and port.
struct ServerStats {
  std::string name;            ///< host:port
  bool alive = true;           ///< not in its dead-time hold-down
  std::uint64_t requests = 0;  ///< first transmissions to this server
  std::uint64_t retransmits = 0;
  std::uint64_t responses = 0;      ///< verified replies handed back
  std::uint64_t timeouts = 0;       ///< requests that exhausted their retries here
  std::uint64_t bad_responses = 0;  ///< dropped: malformed, wrong source, code or authenticator
  std::uint64_t unmatched_responses = 0;  ///< dropped: no request waits for that identifier
  std::uint64_t sockets = 0;              ///< source sockets open to it
  LatencyHistogram latency;
};

struct ClientStats {
  std::vector<ServerStats> auth;  ///< one per server, in configuration order
  std::vector<ServerStats> acct;
  std::uint64_t in_flight = 0;
  std::uint64_t failed = 0;  ///< requests every server gave up on (or no identifier was free)
};

/// What send() takes: the packet, and for Access-Request the cleartext password.
struct Request {
  /// Access-Request or Accounting-Request; the client sets identifier and authenticator.
  Packet packet;
  /// Hidden as User-Password (RFC 2865 5.2) under each server's secret and each attempt's
  /// Request Authenticator. The packet itself must carry no User-Password.
  std::optional<std::string> user_password;
};

/// A RADIUS client. Every member but stats() must be called on the io_context's thread;
/// stats() may be called from any thread.
class BNGKIT_BNG_EXPORT Client {
 public:
  /// The verified reply, or an Error: every server timed out, the request was invalid, or
  /// the client was stopped.
  using Callback = std::function<void(Result<Packet>)>;

  /// Checks the options (at least one server, non-empty secrets, timeout > 0) and resolves
  /// the servers' addresses. Sockets are opened on the first request to each server.
  [[nodiscard]] static Result<std::unique_ptr<Client>> create(boost::asio::io_context& io,
                                                              ClientOptions options);
  /// Cancels everything in flight without running the callbacks (call stop() first to
  /// have them run with an error).
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  /// Sends an Access-Request to the servers' auth ports or an Accounting-Request to their
  /// acct ports. The client assigns identifier and authenticator, adds NAS-IP-Address and
  /// NAS-Identifier from the options when absent, and adds a Message-Authenticator to
  /// Access-Requests. Access-Request retransmissions to one server repeat the packet; an
  /// Accounting-Request retransmission carries an updated Acct-Delay-Time (RFC 2866 5.2),
  /// hence a new identifier and authenticator (RFC 5080 2.2.1). `done` runs exactly once, on
  /// the io thread, never from inside send().
  void send(Request request, Callback done);
  /// send() without a password (accounting, or an Access-Request with CHAP attributes).
  void send(Packet packet, Callback done);

  [[nodiscard]] ClientStats stats() const;

  /// Cancels every request in flight; their callbacks run now with an error. Later send()s
  /// fail (their callbacks run with an error from the io_context).
  void stop();

 private:
  struct Impl;
  explicit Client(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace bngkit::bng::radius
