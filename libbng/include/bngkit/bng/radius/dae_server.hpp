// Dynamic Authorization server (RFC 5176) on an Asio io_context: receives Disconnect-Request
// and CoA-Request from known clients, drops what it cannot authenticate, answers duplicates
// from a cache, hands the rest to the caller's handler and sends its signed ACK or NAK.
#pragma once

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

/// A Dynamic Authorization client (RADIUS server or operator tool) allowed to send requests.
struct DaeClient {
  std::string address;  ///< IPv4 or IPv6 literal; requests are matched on their source address
  std::string secret;   ///< never logged, never in stats or errors
};

struct DaeServerOptions {
  std::string listen_address = "0.0.0.0";
  std::uint16_t port = kCoaPort;  ///< 0 picks a free port (see DaeServer::port())
  std::vector<DaeClient> clients;
  /// Drop requests without a Message-Authenticator (RFC 5176 3.1 makes it optional).
  bool require_message_authenticator = false;
  /// How long an answered request is remembered so a retransmission gets the same reply.
  std::chrono::seconds duplicate_window{30};
  /// Requests remembered at once (with the handler, or answered within duplicate_window).
  /// A new request beyond is dropped (DaeStats::dropped_cache_full); the client retransmits.
  std::size_t max_remembered = 4096;
};

/// Where a request came from.
struct DaeSource {
  std::string address;
  std::uint16_t port = 0;
};

/// The handler's answer.
struct DaeReply {
  bool ack = false;
  /// Error-Cause (RFC 5176 3.5) to send; usual in a NAK (e.g. kSessionContextNotFound,
  /// kUnsupportedAttribute), allowed in an ACK (kResidualContextRemoved).
  std::optional<ErrorCause> error_cause;
  std::vector<Attribute> attributes;  ///< further reply attributes (e.g. Reply-Message)

  [[nodiscard]] static DaeReply make_ack() { return DaeReply{true, std::nullopt, {}}; }
  [[nodiscard]] static DaeReply make_nak(ErrorCause cause) { return DaeReply{false, cause, {}}; }
};

/// Counters; dropped requests get no answer.
struct DaeStats {
  std::uint64_t disconnect_requests = 0;  ///< authenticated and handed to the handler
  std::uint64_t coa_requests = 0;
  std::uint64_t acks = 0;
  std::uint64_t naks = 0;
  std::uint64_t duplicates =
      0;  ///< retransmissions answered from the cache (or ignored while pending)
  std::uint64_t dropped_unknown_client = 0;
  std::uint64_t dropped_malformed = 0;
  std::uint64_t dropped_bad_authenticator = 0;  ///< Request Authenticator or Message-Authenticator
  std::uint64_t dropped_unsupported_code = 0;   ///< not Disconnect-Request or CoA-Request
  std::uint64_t dropped_stale = 0;  ///< answers the handler gave after stop() or twice
  std::uint64_t dropped_cache_full = 0;  ///< new requests while max_remembered were remembered
};

class BNGKIT_BNG_EXPORT DaeServer {
 public:
  /// Answers one request; callable from any thread, once (later calls are ignored).
  using Respond = std::function<void(DaeReply)>;
  /// Receives each authenticated Disconnect-Request or CoA-Request on the io thread. It must
  /// eventually call `respond` (the client retransmits until it does).
  using Handler =
      std::function<void(const Packet& request, const DaeSource& from, Respond respond)>;

  /// Checks the options (clients' addresses and non-empty secrets) and binds the socket.
  [[nodiscard]] static Result<std::unique_ptr<DaeServer>> create(boost::asio::io_context& io,
                                                                 DaeServerOptions options,
                                                                 Handler handler);
  ~DaeServer();
  DaeServer(const DaeServer&) = delete;
  DaeServer& operator=(const DaeServer&) = delete;

  /// The bound UDP port.
  [[nodiscard]] std::uint16_t port() const;
  /// Safe from any thread.
  [[nodiscard]] DaeStats stats() const;
  /// Closes the socket; answers given afterwards are dropped. Call on the io thread.
  void stop();

 private:
  struct Impl;
  explicit DaeServer(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace bngkit::bng::radius
