// RADIUS client on Asio: transactions, identifier slots per source socket, retransmission,
// failover, dead-time hold-down, reply verification and counters.
#include <algorithm>
#include <atomic>
#include <bngkit/bng/radius/auth.hpp>
#include <bngkit/bng/radius/client.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <unordered_map>
#include <utility>

namespace bngkit::bng::radius {
namespace {

namespace asio = boost::asio;
using udp = asio::ip::udp;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kIdentifiers = 256;

std::int64_t to_ns(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace

struct Client::Impl : std::enable_shared_from_this<Client::Impl> {
  struct Transaction;
  struct Destination;

  /// One source socket: its own 256 identifiers towards one destination.
  struct SourceSocket {
    SourceSocket(asio::io_context& io, Destination& d) : socket(io), dest(&d) {}
    udp::socket socket;
    Destination* dest;
    std::array<Transaction*, kIdentifiers> slots{};
    std::size_t used = 0;
    std::uint8_t next = 0;  // identifiers rotate so a late reply rarely meets a reused one
    std::array<std::uint8_t, kMaxPacketSize> buffer{};
    udp::endpoint sender;
  };

  /// A server's auth or acct port, with its sockets and counters (atomics: stats() may be
  /// read from another thread).
  struct Destination {
    std::string name;
    udp::endpoint endpoint;
    const std::string* secret = nullptr;
    std::vector<std::unique_ptr<SourceSocket>> sockets;
    std::atomic<std::int64_t> dead_until_ns{0};
    std::atomic<std::uint64_t> requests{0}, retransmits{0}, responses{0}, timeouts{0},
        bad_responses{0}, unmatched{0}, socket_count{0}, latency_count{0}, latency_sum_ns{0};
    std::array<std::atomic<std::uint64_t>, LatencyHistogram::kBounds.size() + 1> buckets{};

    [[nodiscard]] bool alive(Clock::time_point now) const {
      return dead_until_ns.load(std::memory_order_relaxed) <= to_ns(now);
    }
    void observe_latency(Clock::duration d) {
      const double seconds = std::chrono::duration<double>(d).count();
      std::size_t i = 0;
      while (i < LatencyHistogram::kBounds.size() && seconds > LatencyHistogram::kBounds[i]) ++i;
      buckets[i].fetch_add(1, std::memory_order_relaxed);
      latency_sum_ns.fetch_add(static_cast<std::uint64_t>(
                                   std::chrono::duration_cast<std::chrono::nanoseconds>(d).count()),
                               std::memory_order_relaxed);
      latency_count.fetch_add(1, std::memory_order_relaxed);
    }
    [[nodiscard]] ServerStats snapshot(Clock::time_point now) const {
      ServerStats s;
      s.name = name;
      s.alive = alive(now);
      s.requests = requests.load(std::memory_order_relaxed);
      s.retransmits = retransmits.load(std::memory_order_relaxed);
      s.responses = responses.load(std::memory_order_relaxed);
      s.timeouts = timeouts.load(std::memory_order_relaxed);
      s.bad_responses = bad_responses.load(std::memory_order_relaxed);
      s.unmatched_responses = unmatched.load(std::memory_order_relaxed);
      s.sockets = socket_count.load(std::memory_order_relaxed);
      for (std::size_t i = 0; i < buckets.size(); ++i) {
        s.latency.counts[i] = buckets[i].load(std::memory_order_relaxed);
      }
      s.latency.count = latency_count.load(std::memory_order_relaxed);
      s.latency.sum_seconds =
          static_cast<double>(latency_sum_ns.load(std::memory_order_relaxed)) / 1e9;
      return s;
    }
  };

  struct Server {
    std::string secret;
    Destination auth;
    Destination acct;
  };

  struct Transaction {
    explicit Transaction(asio::io_context& io) : timer(io) {}
    std::uint64_t id = 0;
    bool accounting = false;
    Packet packet;  // as the caller built it, plus NAS attributes; per attempt: id, auth
    std::optional<std::string> password;
    Callback done;
    Clock::time_point started;
    std::optional<std::uint32_t> caller_delay;  // Acct-Delay-Time the caller set
    std::vector<std::size_t> order;             // servers to try, by index
    std::size_t position = 0;                   // into order
    unsigned transmissions = 0;                 // to the current server
    SourceSocket* socket = nullptr;
    std::uint8_t identifier = 0;
    std::shared_ptr<std::vector<std::uint8_t>> wire;
    Authenticator request_auth{};
    Clock::time_point sent_at;
    asio::steady_timer timer;
  };

  Impl(asio::io_context& context, ClientOptions opts) : io(context), options(std::move(opts)) {}

  asio::io_context& io;
  ClientOptions options;
  std::vector<std::unique_ptr<Server>> servers;
  std::unordered_map<std::uint64_t, std::unique_ptr<Transaction>> transactions;
  std::uint64_t next_id = 1;
  bool stopped = false;
  bool in_send = false;  // callbacks are deferred then: they never run inside send()
  std::atomic<std::uint64_t> in_flight{0};
  std::atomic<std::uint64_t> failed{0};

  Destination& destination(const Transaction& tx, std::size_t server) {
    return tx.accounting ? servers[server]->acct : servers[server]->auth;
  }

  void post_error(Callback done, Error error) {
    asio::post(io, [done = std::move(done), error = std::move(error)]() mutable {
      done(Result<Packet>(std::move(error)));
    });
  }

  void send(Request request, Callback done) {
    if (!done) return;
    if (stopped) {
      post_error(std::move(done),
                 make_error(std::errc::operation_canceled, "RADIUS client is stopped"));
      return;
    }
    Packet& packet = request.packet;
    const bool accounting = packet.code == Code::kAccountingRequest;
    if (!accounting && packet.code != Code::kAccessRequest) {
      post_error(
          std::move(done),
          make_error(std::errc::invalid_argument,
                     "RADIUS client sends Access-Request and Accounting-Request only, not " +
                         std::string(code_name(packet.code).empty()
                                         ? "code " + std::to_string(static_cast<int>(packet.code))
                                         : code_name(packet.code))));
      return;
    }
    if (packet.find(attr::kUserPassword) != nullptr) {
      post_error(std::move(done),
                 make_error(std::errc::invalid_argument,
                            "request carries a User-Password attribute: pass the cleartext in "
                            "Request::user_password, the client hides it per server secret"));
      return;
    }
    if (accounting && request.user_password) {
      post_error(std::move(done), make_error(std::errc::invalid_argument,
                                             "an Accounting-Request carries no User-Password"));
      return;
    }
    if (options.nas_ip && packet.find(attr::kNasIpAddress) == nullptr) {
      packet.add_ipaddr(attr::kNasIpAddress, *options.nas_ip);
    }
    if (!options.nas_identifier.empty() && packet.find(attr::kNasIdentifier) == nullptr) {
      if (auto added = packet.add(attr::kNasIdentifier, options.nas_identifier); !added) {
        post_error(std::move(done), added.error());
        return;
      }
    }
    auto tx = std::make_unique<Transaction>(io);
    tx->id = next_id++;
    tx->accounting = accounting;
    tx->password = std::move(request.user_password);
    tx->done = std::move(done);
    tx->started = Clock::now();
    if (accounting) {
      if (const auto* delay = packet.find(attr::kAcctDelayTime)) {
        auto value = decode_integer(delay->value());
        if (!value) {
          post_error(std::move(tx->done),
                     make_error(std::errc::invalid_argument, "Acct-Delay-Time is not 4 octets"));
          return;
        }
        tx->caller_delay = *value;
      }
    }
    tx->packet = std::move(packet);
    // Servers not held down, in order; when all are, all of them (see ClientOptions::dead_time).
    for (std::size_t i = 0; i < servers.size(); ++i) {
      if (destination(*tx, i).alive(tx->started)) tx->order.push_back(i);
    }
    if (tx->order.empty()) {
      for (std::size_t i = 0; i < servers.size(); ++i) tx->order.push_back(i);
    }
    Transaction* raw = tx.get();
    transactions.emplace(raw->id, std::move(tx));
    in_flight.fetch_add(1, std::memory_order_relaxed);
    in_send = true;
    try_server(*raw);
    in_send = false;
  }

  /// Starts on order[position] (or a later server if that one has no free identifier).
  void try_server(Transaction& tx) {
    std::string no_identifier;
    while (tx.position < tx.order.size()) {
      Destination& dest = destination(tx, tx.order[tx.position]);
      tx.transmissions = 0;
      auto socket = acquire(dest, tx);
      if (socket.ok()) {
        dest.requests.fetch_add(1, std::memory_order_relaxed);
        if (auto sent = transmit(tx); !sent) {
          finish(tx, sent.error());
        }
        return;
      }
      no_identifier = socket.error().message();
      ++tx.position;
    }
    failed.fetch_add(1, std::memory_order_relaxed);
    if (!no_identifier.empty()) {
      finish(tx, make_error(std::errc::resource_unavailable_try_again, no_identifier));
      return;
    }
    std::string tried;
    for (auto index : tx.order) {
      if (!tried.empty()) tried += ", ";
      tried += destination(tx, index).name;
    }
    finish(tx, make_error(std::errc::timed_out, "no reply from any RADIUS server (tried " + tried +
                                                    ", " + std::to_string(options.retries + 1) +
                                                    " transmissions each)"));
  }

  /// Takes an identifier on a socket to `dest`, opening a socket when all are full.
  Result<void> acquire(Destination& dest, Transaction& tx) {
    for (auto& socket : dest.sockets) {
      if (socket->used < kIdentifiers) {
        take_slot(*socket, tx);
        return ok();
      }
    }
    if (dest.sockets.size() >= options.max_sockets_per_server) {
      return make_error(std::errc::resource_unavailable_try_again,
                        "every identifier towards " + dest.name + " is in use (" +
                            std::to_string(dest.sockets.size()) + " sockets x 256)");
    }
    auto socket = std::make_unique<SourceSocket>(io, dest);
    boost::system::error_code ec;
    socket->socket.open(dest.endpoint.protocol(), ec);
    if (!ec) socket->socket.bind(udp::endpoint(dest.endpoint.protocol(), 0), ec);
    if (!ec) {
      // Replies to 256 requests can arrive in one burst; best effort (net.core.rmem_max caps it).
      boost::system::error_code ignored;
      socket->socket.set_option(udp::socket::receive_buffer_size(1 << 20), ignored);
    }
    if (ec) {
      return make_error(std::errc::io_error,
                        "cannot open a UDP socket towards " + dest.name + ": " + ec.message());
    }
    SourceSocket& ref = *socket;
    dest.sockets.push_back(std::move(socket));
    dest.socket_count.store(dest.sockets.size(), std::memory_order_relaxed);
    receive(ref);
    take_slot(ref, tx);
    return ok();
  }

  static void take_slot(SourceSocket& socket, Transaction& tx) {
    std::uint8_t id = socket.next;
    while (socket.slots[id] != nullptr) ++id;  // wraps; a free slot exists
    socket.slots[id] = &tx;
    ++socket.used;
    socket.next = static_cast<std::uint8_t>(id + 1);
    tx.socket = &socket;
    tx.identifier = id;
  }

  static void release_slot(Transaction& tx) {
    if (tx.socket == nullptr) return;
    tx.socket->slots[tx.identifier] = nullptr;
    --tx.socket->used;
    tx.socket = nullptr;
  }

  /// Builds the packet for the current server and identifier, signed with its secret.
  Result<void> encode_attempt(Transaction& tx) {
    const std::string& secret = *tx.socket->dest->secret;
    Packet packet = tx.packet;
    packet.identifier = tx.identifier;
    Result<std::vector<std::uint8_t>> wire = std::vector<std::uint8_t>{};
    if (tx.accounting) {
      const auto waited =
          std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - tx.started);
      if (tx.caller_delay || waited.count() > 0) {
        // RFC 2866 5.2: how long the client has been trying to send this record.
        const auto delay = tx.caller_delay.value_or(0) + static_cast<std::uint32_t>(waited.count());
        const auto attribute = Attribute::integer(attr::kAcctDelayTime, delay);
        auto it = std::find_if(packet.attributes.begin(), packet.attributes.end(),
                               [](const Attribute& a) { return a.type() == attr::kAcctDelayTime; });
        if (it != packet.attributes.end()) {
          *it = attribute;
        } else {
          packet.add(attribute);
        }
      }
      wire = encode(packet, secret);
    } else {
      auto auth = random_authenticator();
      if (!auth) return auth.error();
      packet.authenticator = *auth;
      if (tx.password) {
        if (auto hidden = set_user_password(packet, *tx.password, secret); !hidden) {
          return hidden.error();
        }
      }
      EncodeOptions encode_options;
      encode_options.add_message_authenticator = true;
      wire = encode(packet, secret, encode_options);
    }
    if (!wire) return wire.error();
    tx.request_auth = packet.authenticator;
    tx.wire = std::make_shared<std::vector<std::uint8_t>>(std::move(*wire));
    return ok();
  }

  Result<void> transmit(Transaction& tx) {
    // Access-Request retransmissions to one server repeat the packet exactly.
    if (tx.transmissions == 0 || tx.accounting) {
      if (auto encoded = encode_attempt(tx); !encoded) return encoded.error();
    }
    ++tx.transmissions;
    tx.sent_at = Clock::now();
    Destination& dest = *tx.socket->dest;
    // A send error is left to the timer: the attempt then counts as lost.
    tx.socket->socket.async_send_to(asio::buffer(*tx.wire), dest.endpoint,
                                    [wire = tx.wire](boost::system::error_code, std::size_t) {});
    tx.timer.expires_after(options.timeout);
    tx.timer.async_wait([self = shared_from_this(), id = tx.id](boost::system::error_code ec) {
      if (!ec) self->on_timeout(id);
    });
    return ok();
  }

  void on_timeout(std::uint64_t id) {
    auto it = transactions.find(id);
    if (it == transactions.end()) return;
    Transaction& tx = *it->second;
    Destination& dest = *tx.socket->dest;
    if (tx.transmissions <= options.retries) {
      dest.retransmits.fetch_add(1, std::memory_order_relaxed);
      if (tx.accounting) {
        // A changed packet takes a new identifier (RFC 5080 2.2.1); the freed slot guarantees
        // one on this socket.
        SourceSocket& socket = *tx.socket;
        release_slot(tx);
        take_slot(socket, tx);
      }
      if (auto sent = transmit(tx); !sent) finish(tx, sent.error());
      return;
    }
    dest.timeouts.fetch_add(1, std::memory_order_relaxed);
    dest.dead_until_ns.store(to_ns(Clock::now() + options.dead_time), std::memory_order_relaxed);
    release_slot(tx);
    ++tx.position;
    try_server(tx);
  }

  void receive(SourceSocket& socket) {
    socket.socket.async_receive_from(
        asio::buffer(socket.buffer), socket.sender,
        [self = shared_from_this(), &socket](boost::system::error_code ec, std::size_t size) {
          if (ec == asio::error::operation_aborted || self->stopped) return;
          if (!ec) self->on_datagram(socket, size);
          self->receive(socket);
        });
  }

  void on_datagram(SourceSocket& socket, std::size_t size) {
    Destination& dest = *socket.dest;
    const std::span<const std::uint8_t> wire(socket.buffer.data(), size);
    auto bad = [&dest] { dest.bad_responses.fetch_add(1, std::memory_order_relaxed); };
    if (socket.sender != dest.endpoint || size < kHeaderSize) return bad();
    Transaction* tx = socket.slots[wire[1]];
    if (tx == nullptr) {
      dest.unmatched.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    const auto code = static_cast<Code>(wire[0]);
    const bool code_fits = tx->accounting
                               ? code == Code::kAccountingResponse
                               : (code == Code::kAccessAccept || code == Code::kAccessReject ||
                                  code == Code::kAccessChallenge);
    if (!code_fits) return bad();
    VerifyOptions verify;
    verify.require_message_authenticator = options.require_message_authenticator;
    if (!verify_response(wire, tx->request_auth, *dest.secret, verify)) return bad();
    auto reply = Packet::parse(wire);
    if (!reply) return bad();
    dest.responses.fetch_add(1, std::memory_order_relaxed);
    dest.observe_latency(Clock::now() - tx->sent_at);
    dest.dead_until_ns.store(0, std::memory_order_relaxed);
    finish(*tx, std::move(*reply));
  }

  /// Ends a transaction: frees its identifier and timer, runs its callback.
  void finish(Transaction& tx, Result<Packet> result) {
    release_slot(tx);
    tx.timer.cancel();
    Callback done = std::move(tx.done);
    transactions.erase(tx.id);  // tx is gone from here on
    in_flight.fetch_sub(1, std::memory_order_relaxed);
    if (in_send) {
      asio::post(io, [done = std::move(done), result = std::move(result)]() mutable {
        done(std::move(result));
      });
      return;
    }
    done(std::move(result));
  }

  void shutdown(bool run_callbacks) {
    stopped = true;
    auto pending = std::move(transactions);
    transactions.clear();
    for (auto& server : servers) {
      for (Destination* dest : {&server->auth, &server->acct}) {
        for (auto& socket : dest->sockets) {
          boost::system::error_code ignored;
          socket->socket.close(ignored);
          socket->slots.fill(nullptr);
          socket->used = 0;
        }
      }
    }
    for (auto& [id, tx] : pending) {
      tx->timer.cancel();
      tx->socket = nullptr;
      in_flight.fetch_sub(1, std::memory_order_relaxed);
      if (run_callbacks && tx->done) {
        tx->done(make_error(std::errc::operation_canceled, "RADIUS client stopped"));
      }
    }
  }
};

Client::Client(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

Client::~Client() {
  if (impl_) impl_->shutdown(false);
}

Result<std::unique_ptr<Client>> Client::create(asio::io_context& io, ClientOptions options) {
  if (options.servers.empty()) {
    return make_error(std::errc::invalid_argument, "RADIUS client: no servers configured");
  }
  if (options.timeout.count() <= 0) {
    return make_error(std::errc::invalid_argument, "RADIUS client: timeout must be positive");
  }
  if (options.max_sockets_per_server == 0) {
    return make_error(std::errc::invalid_argument,
                      "RADIUS client: max_sockets_per_server must be at least 1");
  }
  if (options.nas_identifier.size() > kMaxAttributeValue) {
    return make_error(std::errc::invalid_argument,
                      "RADIUS client: nas_identifier is longer than 253 octets");
  }
  auto impl = std::make_shared<Impl>(io, options);
  udp::resolver resolver(io);
  for (std::size_t i = 0; i < options.servers.size(); ++i) {
    const auto& config = options.servers[i];
    const std::string which = "RADIUS server " + std::to_string(i + 1) + " (" + config.host + ")";
    if (config.secret.empty()) {
      return make_error(std::errc::invalid_argument, which + ": empty secret");
    }
    if (config.auth_port == 0 || config.acct_port == 0) {
      return make_error(std::errc::invalid_argument, which + ": port 0");
    }
    boost::system::error_code ec;
    asio::ip::address address = asio::ip::make_address(config.host, ec);
    if (ec) {
      auto results = resolver.resolve(config.host, "", ec);
      if (ec || results.empty()) {
        return make_error(std::errc::invalid_argument,
                          which + ": cannot resolve host: " + (ec ? ec.message() : "no address"));
      }
      address = results.begin()->endpoint().address();
    }
    auto server = std::make_unique<Impl::Server>();
    server->secret = config.secret;
    const std::string host =
        address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
    server->auth.endpoint = udp::endpoint(address, config.auth_port);
    server->auth.name = host + ":" + std::to_string(config.auth_port);
    server->auth.secret = &server->secret;
    server->acct.endpoint = udp::endpoint(address, config.acct_port);
    server->acct.name = host + ":" + std::to_string(config.acct_port);
    server->acct.secret = &server->secret;
    impl->servers.push_back(std::move(server));
  }
  return std::unique_ptr<Client>(new Client(std::move(impl)));
}

void Client::send(Request request, Callback done) {
  impl_->send(std::move(request), std::move(done));
}

void Client::send(Packet packet, Callback done) {
  impl_->send(Request{std::move(packet), std::nullopt}, std::move(done));
}

ClientStats Client::stats() const {
  ClientStats stats;
  const auto now = Clock::now();
  for (const auto& server : impl_->servers) {
    stats.auth.push_back(server->auth.snapshot(now));
    stats.acct.push_back(server->acct.snapshot(now));
  }
  stats.in_flight = impl_->in_flight.load(std::memory_order_relaxed);
  stats.failed = impl_->failed.load(std::memory_order_relaxed);
  return stats;
}

void Client::stop() { impl_->shutdown(true); }

}  // namespace bngkit::bng::radius
