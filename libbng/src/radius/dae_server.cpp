// Dynamic Authorization server (RFC 5176): client table, request checks, duplicate cache,
// asynchronous answers signed with the client's secret.
#include <atomic>
#include <bngkit/bng/radius/auth.hpp>
#include <bngkit/bng/radius/dae_server.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <deque>
#include <map>
#include <tuple>
#include <utility>

namespace bngkit::bng::radius {
namespace {
namespace asio = boost::asio;
using udp = asio::ip::udp;
using Clock = std::chrono::steady_clock;
}  // namespace

struct DaeServer::Impl : std::enable_shared_from_this<DaeServer::Impl> {
  /// RFC 5176 2.3 / RFC 5080 2.2.2: a duplicate has the same source, identifier and
  /// Request Authenticator.
  using Key = std::tuple<asio::ip::address, std::uint16_t, std::uint8_t, Authenticator>;
  struct Entry {
    bool answered = false;
    std::shared_ptr<std::vector<std::uint8_t>> reply;
    Clock::time_point expires;
  };

  Impl(asio::io_context& context, DaeServerOptions opts, Handler h)
      : io(context), options(std::move(opts)), handler(std::move(h)), socket(context) {}

  asio::io_context& io;
  DaeServerOptions options;
  Handler handler;
  udp::socket socket;
  std::map<asio::ip::address, std::string> secrets;
  std::array<std::uint8_t, kMaxPacketSize> buffer{};
  udp::endpoint sender;
  std::map<Key, Entry> cache;
  std::deque<std::pair<Clock::time_point, Key>> expiry;  // answered entries, oldest first
  bool stopped = false;

  struct Counters {
    std::atomic<std::uint64_t> disconnect{0}, coa{0}, acks{0}, naks{0}, duplicates{0},
        unknown_client{0}, malformed{0}, bad_authenticator{0}, unsupported_code{0}, stale{0},
        cache_full{0};
  } counters;

  static void bump(std::atomic<std::uint64_t>& counter) {
    counter.fetch_add(1, std::memory_order_relaxed);
  }

  void receive() {
    socket.async_receive_from(
        asio::buffer(buffer), sender,
        [self = shared_from_this()](boost::system::error_code ec, std::size_t size) {
          if (ec == asio::error::operation_aborted || self->stopped) return;
          if (!ec) self->on_datagram(size);
          self->receive();
        });
  }

  void purge(Clock::time_point now) {
    while (!expiry.empty() && expiry.front().first <= now) {
      auto it = cache.find(expiry.front().second);
      if (it != cache.end() && it->second.answered && it->second.expires <= now) cache.erase(it);
      expiry.pop_front();
    }
  }

  void on_datagram(std::size_t size) {
    const std::span<const std::uint8_t> wire(buffer.data(), size);
    auto client = secrets.find(sender.address());
    if (client == secrets.end()) return bump(counters.unknown_client);
    auto request = Packet::parse(wire);
    if (!request) return bump(counters.malformed);
    if (request->code != Code::kDisconnectRequest && request->code != Code::kCoaRequest) {
      return bump(counters.unsupported_code);
    }
    VerifyOptions verify;
    verify.require_message_authenticator = options.require_message_authenticator;
    if (!verify_request(wire, client->second, verify)) return bump(counters.bad_authenticator);

    const auto now = Clock::now();
    purge(now);
    Key key{sender.address(), sender.port(), request->identifier, request->authenticator};
    if (auto it = cache.find(key); it != cache.end()) {
      bump(counters.duplicates);
      // Still with the handler: the answer goes out when it comes.
      if (it->second.answered) {
        socket.async_send_to(asio::buffer(*it->second.reply), sender,
                             [reply = it->second.reply](boost::system::error_code, std::size_t) {});
      }
      return;
    }
    if (cache.size() >= options.max_remembered) return bump(counters.cache_full);
    cache.emplace(key, Entry{});
    bump(request->code == Code::kDisconnectRequest ? counters.disconnect : counters.coa);

    const DaeSource from{sender.address().to_string(), sender.port()};
    auto shared_request = std::make_shared<const Packet>(std::move(*request));
    Respond respond = [weak = weak_from_this(), key, shared_request, to = sender](DaeReply reply) {
      auto self = weak.lock();
      if (!self) return;
      asio::post(self->io, [self, key, shared_request, to, reply = std::move(reply)]() mutable {
        self->answer(key, *shared_request, to, std::move(reply));
      });
    };
    handler(*shared_request, from, std::move(respond));
  }

  void answer(const Key& key, const Packet& request, const udp::endpoint& to, DaeReply reply) {
    auto it = cache.find(key);
    if (stopped || it == cache.end() || it->second.answered) return bump(counters.stale);
    const auto secret = secrets.find(std::get<0>(key));
    if (secret == secrets.end()) return bump(counters.stale);
    const bool disconnect = request.code == Code::kDisconnectRequest;
    const Code code = reply.ack ? (disconnect ? Code::kDisconnectAck : Code::kCoaAck)
                                : (disconnect ? Code::kDisconnectNak : Code::kCoaNak);
    Packet response = request.make_response(code);
    if (reply.error_cause) {
      response.add_integer(attr::kErrorCause, static_cast<std::uint32_t>(*reply.error_cause));
    }
    for (const auto& attribute : reply.attributes) response.add(attribute);
    EncodeOptions encode_options;
    encode_options.request_auth = request.authenticator;
    // Answer a request that was protected by a Message-Authenticator with one too.
    encode_options.add_message_authenticator = request.find(attr::kMessageAuthenticator) != nullptr;
    auto wire = encode(response, secret->second, encode_options);
    if (!wire) {
      // Only an oversized reply (too many attributes from the handler) gets here: say NAK.
      Packet nak = request.make_response(disconnect ? Code::kDisconnectNak : Code::kCoaNak);
      nak.add_integer(attr::kErrorCause,
                      static_cast<std::uint32_t>(ErrorCause::kResourcesUnavailable));
      wire = encode(nak, secret->second, encode_options);
      if (!wire) return bump(counters.stale);
      reply.ack = false;
    }
    bump(reply.ack ? counters.acks : counters.naks);
    auto bytes = std::make_shared<std::vector<std::uint8_t>>(std::move(*wire));
    it->second.answered = true;
    it->second.reply = bytes;
    it->second.expires = Clock::now() + options.duplicate_window;
    expiry.emplace_back(it->second.expires, key);
    socket.async_send_to(asio::buffer(*bytes), to,
                         [bytes](boost::system::error_code, std::size_t) {});
  }
};

DaeServer::DaeServer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

DaeServer::~DaeServer() {
  if (impl_) stop();
}

Result<std::unique_ptr<DaeServer>> DaeServer::create(asio::io_context& io, DaeServerOptions options,
                                                     Handler handler) {
  if (!handler) return make_error(std::errc::invalid_argument, "DAE server: no handler");
  boost::system::error_code ec;
  const auto listen = asio::ip::make_address(options.listen_address, ec);
  if (ec) {
    return make_error(
        std::errc::invalid_argument,
        "DAE server: listen address '" + options.listen_address + "' is not an IP address");
  }
  auto impl = std::make_shared<Impl>(io, options, std::move(handler));
  for (std::size_t i = 0; i < options.clients.size(); ++i) {
    const auto& client = options.clients[i];
    const auto address = asio::ip::make_address(client.address, ec);
    if (ec) {
      return make_error(std::errc::invalid_argument, "DAE client " + std::to_string(i + 1) + ": '" +
                                                         client.address + "' is not an IP address");
    }
    if (client.secret.empty()) {
      return make_error(std::errc::invalid_argument,
                        "DAE client " + client.address + ": empty secret");
    }
    if (!impl->secrets.emplace(address, client.secret).second) {
      return make_error(std::errc::invalid_argument,
                        "DAE client " + client.address + " is listed twice");
    }
  }
  const udp::endpoint endpoint(listen, options.port);
  impl->socket.open(endpoint.protocol(), ec);
  if (!ec) impl->socket.bind(endpoint, ec);
  if (ec) {
    return Error{std::error_code(ec.value(), std::system_category()),
                 "DAE server: cannot bind UDP " + options.listen_address + ":" +
                     std::to_string(options.port)};
  }
  impl->receive();
  return std::unique_ptr<DaeServer>(new DaeServer(std::move(impl)));
}

std::uint16_t DaeServer::port() const {
  boost::system::error_code ec;
  const auto local = impl_->socket.local_endpoint(ec);
  return ec ? 0 : local.port();
}

DaeStats DaeServer::stats() const {
  const auto& c = impl_->counters;
  auto get = [](const std::atomic<std::uint64_t>& v) { return v.load(std::memory_order_relaxed); };
  DaeStats s;
  s.disconnect_requests = get(c.disconnect);
  s.coa_requests = get(c.coa);
  s.acks = get(c.acks);
  s.naks = get(c.naks);
  s.duplicates = get(c.duplicates);
  s.dropped_unknown_client = get(c.unknown_client);
  s.dropped_malformed = get(c.malformed);
  s.dropped_bad_authenticator = get(c.bad_authenticator);
  s.dropped_unsupported_code = get(c.unsupported_code);
  s.dropped_stale = get(c.stale);
  s.dropped_cache_full = get(c.cache_full);
  return s;
}

void DaeServer::stop() {
  impl_->stopped = true;
  boost::system::error_code ignored;
  impl_->socket.close(ignored);
}

}  // namespace bngkit::bng::radius
