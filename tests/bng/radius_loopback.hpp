// Test helpers for the RADIUS client and DAE server: running an io_context until a condition
// holds, and a fake RADIUS server on loopback whose behaviour each test controls.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <bngkit/bng/radius/auth.hpp>
#include <bngkit/bng/radius/packet.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace bngkit::bng::radius::test {

namespace asio = boost::asio;
using udp = asio::ip::udp;

/// Runs `io` until `done()` is true or `limit` passes; returns done().
template <typename Predicate>
bool run_until(asio::io_context& io, Predicate done,
               std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < end) {
    io.run_for(std::chrono::milliseconds(5));
    if (io.stopped()) io.restart();
  }
  return done();
}

/// Runs `io` for `duration` (lets timers fire, answers arrive).
inline void run_for(asio::io_context& io, std::chrono::milliseconds duration) {
  run_until(
      io, [] { return false; }, duration);
}

/// A RADIUS server on 127.0.0.1 or another local address (a free port) that records what it
/// receives and answers the way the test says: Access-Accept with Framed-IP-Address 10.0.0.9 /
/// Accounting-Response, signed with its secret.
class FakeServer {
 public:
  enum class Mode {
    kReply,             ///< answer every request
    kSilent,            ///< answer nothing
    kBadAuthenticator,  ///< answer signed with a wrong secret (then, if chase_with_good, a good
                        ///< one)
    kWrongSource,       ///< answer from another socket (port), correctly signed
  };

  FakeServer(asio::io_context& io, std::string secret, const std::string& address = "127.0.0.1")
      : secret_(std::move(secret)),
        socket_(io, udp::endpoint(asio::ip::make_address(address), 0)),
        other_(io, udp::endpoint(asio::ip::make_address(address), 0)) {
    // Room for a burst of a thousand requests (best effort: capped by net.core.rmem_max).
    boost::system::error_code ignored;
    socket_.set_option(udp::socket::receive_buffer_size(4 << 20), ignored);
    receive();
  }

  [[nodiscard]] std::uint16_t port() const { return socket_.local_endpoint().port(); }

  Mode mode = Mode::kReply;
  /// Ignore this many datagrams before behaving as `mode`.
  unsigned ignore_first = 0;
  /// Hold the first this many requests (distinct User-Names), then answer them all and reply
  /// at once from then on: forces that many requests to be in flight together.
  std::size_t batch = 0;
  /// In kBadAuthenticator mode, follow the bad answer with a good one.
  bool chase_with_good = false;
  /// Sign replies with a Message-Authenticator.
  bool add_message_authenticator = false;

  std::vector<std::vector<std::uint8_t>> received;  ///< every datagram, as received

  /// The received datagrams parsed.
  [[nodiscard]] std::vector<Packet> packets() const {
    std::vector<Packet> out;
    for (const auto& wire : received) out.push_back(*Packet::parse(wire));
    return out;
  }

  [[nodiscard]] std::vector<std::uint8_t> make_reply(const Packet& request,
                                                     const std::string& secret) const {
    Packet reply = request.make_response(
        request.code == Code::kAccountingRequest ? Code::kAccountingResponse : Code::kAccessAccept);
    if (request.code == Code::kAccessRequest) {
      reply.add_ipaddr(attr::kFramedIpAddress, Ipv4(10, 0, 0, 9));
    }
    EncodeOptions options;
    options.request_auth = request.authenticator;
    options.add_message_authenticator = add_message_authenticator;
    return *encode(reply, secret, options);
  }

 private:
  void receive() {
    socket_.async_receive_from(
        asio::buffer(buffer_), sender_, [this](boost::system::error_code ec, std::size_t size) {
          if (ec) return;
          on_datagram({buffer_.begin(), buffer_.begin() + static_cast<long>(size)});
          receive();
        });
  }

  void on_datagram(std::vector<std::uint8_t> wire) {
    received.push_back(wire);
    if (ignore_first > 0) {
      --ignore_first;
      return;
    }
    auto request = Packet::parse(wire);
    ASSERT_TRUE(request.ok()) << request.error().message();
    switch (mode) {
      case Mode::kSilent:
        return;
      case Mode::kReply:
        if (batch > 0 && pending_.size() < batch) {
          // A retransmission (same User-Name) replaces the copy held.
          const auto* user = request->find(attr::kUserName);
          auto same = std::find_if(pending_.begin(), pending_.end(), [&](const auto& held) {
            const auto* held_user = held.first.find(attr::kUserName);
            return user && held_user && held_user->text() == user->text();
          });
          if (same != pending_.end()) {
            *same = {*request, sender_};
          } else {
            pending_.emplace_back(*request, sender_);
          }
          if (pending_.size() >= batch) {
            for (const auto& [packet, to] : pending_)
              send(socket_, make_reply(packet, secret_), to);
          }
          return;
        }
        send(socket_, make_reply(*request, secret_), sender_);
        return;
      case Mode::kBadAuthenticator:
        send(socket_, make_reply(*request, secret_ + "-wrong"), sender_);
        if (chase_with_good) send(socket_, make_reply(*request, secret_), sender_);
        return;
      case Mode::kWrongSource:
        send(other_, make_reply(*request, secret_), sender_);
        return;
    }
  }

  static void send(udp::socket& socket, const std::vector<std::uint8_t>& wire,
                   const udp::endpoint& to) {
    boost::system::error_code ec;
    socket.send_to(asio::buffer(wire), to, 0, ec);
    EXPECT_FALSE(ec) << ec.message();
  }

  std::string secret_;
  udp::socket socket_;
  udp::socket other_;
  std::array<std::uint8_t, 4096> buffer_{};
  udp::endpoint sender_;
  std::vector<std::pair<Packet, udp::endpoint>> pending_;
};

}  // namespace bngkit::bng::radius::test
