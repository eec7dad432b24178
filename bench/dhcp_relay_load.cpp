// Closed-loop DHCPv4 load through a relay address: how many returning-subscriber REQUESTs
// a server acknowledges per second, and with what latency, when it is never flooded
// beyond a fixed window of requests in flight. Unlike perfdhcp it keeps up with a server
// that answers in the kernel, so it can tell the XDP fast path and a userspace server apart.
//
//   dhcp_relay_load --server 10.0.1.1 --relay 10.0.1.2 [--clients 1000] [--window 64]
//                   [--seconds 5] [--mac-prefix 02:41]
//
// First every client gets a lease (relayed DISCOVER/REQUEST), then REQUESTs for those
// leases (SELECTING form: option 50 and 54, giaddr = relay) go round-robin for --seconds.
// Prints one line: "acks_per_s=<n> p50_ms=<x> p99_ms=<y> lost=<n> bound=<n>".
// Run it where the relay address is local (it binds UDP port 67 there).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <bngkit/bng/dhcp/message.hpp>
#include <boost/program_options.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace po = boost::program_options;
using bngkit::bng::dhcp::Ipv4;
using bngkit::bng::dhcp::Message;
using bngkit::bng::dhcp::MessageType;
using Clock = std::chrono::steady_clock;

namespace {

struct Client {
  std::array<std::uint8_t, 6> mac{};
  Ipv4 address;               // from the OFFER, then the ACK
  Clock::time_point sent{};   // of the request in flight
  bool in_flight = false;
};

std::optional<Ipv4> parse_ipv4(const std::string& s) {
  in_addr a{};
  if (inet_pton(AF_INET, s.c_str(), &a) != 1) return std::nullopt;
  return Ipv4::from_be(a.s_addr);
}

class RelayLoad {
 public:
  RelayLoad(Ipv4 server, Ipv4 relay, std::size_t clients, std::uint8_t prefix0, std::uint8_t prefix1)
      : server_(server), relay_(relay), clients_(clients) {
    for (std::size_t i = 0; i < clients; ++i) {
      auto& m = clients_[i].mac;
      m = {prefix0, prefix1, static_cast<std::uint8_t>(i >> 24), static_cast<std::uint8_t>(i >> 16),
           static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i)};
    }
  }

  bool open() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return fail("socket");
    int size = 8 << 20;
    (void)::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    (void)::setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_port = htons(67);
    local.sin_addr.s_addr = std::bit_cast<std::uint32_t>(relay_.bytes());
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) return fail("bind relay:67");
    return true;
  }
  ~RelayLoad() {
    if (fd_ >= 0) ::close(fd_);
  }

  // Every client through DISCOVER/OFFER/REQUEST/ACK, `window` at a time; returns bound count.
  std::size_t bind_all(std::size_t window, std::chrono::seconds limit) {
    std::vector<int> stage(clients_.size(), 0);  // 0 idle, 1 discover sent, 2 request sent, 3 bound
    std::size_t next = 0, bound = 0, in_flight = 0;
    const auto deadline = Clock::now() + limit;
    while (bound < clients_.size() && Clock::now() < deadline) {
      while (in_flight < window && next < clients_.size()) {
        send(next, MessageType::discover);
        stage[next++] = 1;
        ++in_flight;
      }
      receive([&](std::size_t i, const Message& reply) {
        const auto type = reply.message_type();
        if (stage[i] == 1 && type == MessageType::offer) {
          clients_[i].address = reply.yiaddr;
          send(i, MessageType::request);
          stage[i] = 2;
        } else if (stage[i] == 2 && type == MessageType::ack) {
          stage[i] = 3;
          ++bound;
          --in_flight;
        }
      });
      // Requests lost on the way start over.
      const auto now = Clock::now();
      for (std::size_t i = 0; i < next; ++i) {
        if ((stage[i] == 1 || stage[i] == 2) && now - clients_[i].sent > kTimeout) {
          send(i, MessageType::discover);
          stage[i] = 1;
        }
      }
    }
    return bound;
  }

  struct Result {
    double acks_per_s = 0;
    double p50_ms = 0, p99_ms = 0;
    std::size_t lost = 0;
  };

  // Round-robin REQUESTs for the bound leases, `window` in flight, for `duration`.
  Result renew_loop(std::size_t window, std::chrono::duration<double> duration) {
    std::vector<double> latencies;
    latencies.reserve(1 << 20);
    std::size_t next = 0, in_flight = 0, lost = 0;
    const auto start = Clock::now();
    const auto end = start + std::chrono::duration_cast<Clock::duration>(duration);
    auto pick = [&] {
      for (std::size_t tries = 0; tries < clients_.size(); ++tries) {
        const std::size_t i = next++ % clients_.size();
        if (!clients_[i].in_flight && !clients_[i].address.is_unspecified()) return std::optional(i);
      }
      return std::optional<std::size_t>{};
    };
    while (Clock::now() < end) {
      while (in_flight < window) {
        auto i = pick();
        if (!i) break;
        send(*i, MessageType::request);
        clients_[*i].in_flight = true;
        ++in_flight;
      }
      receive([&](std::size_t i, const Message& reply) {
        if (!clients_[i].in_flight || reply.message_type() != MessageType::ack) return;
        latencies.push_back(std::chrono::duration<double, std::milli>(Clock::now() - clients_[i].sent).count());
        clients_[i].in_flight = false;
        --in_flight;
      });
      if (++sweeps_ % 64 == 0) {
        const auto now = Clock::now();
        for (auto& c : clients_) {
          if (c.in_flight && now - c.sent > kTimeout) {
            c.in_flight = false;
            --in_flight;
            ++lost;
          }
        }
      }
    }
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    Result r;
    r.acks_per_s = static_cast<double>(latencies.size()) / elapsed;
    r.lost = lost;
    if (!latencies.empty()) {
      std::sort(latencies.begin(), latencies.end());
      r.p50_ms = latencies[latencies.size() / 2];
      r.p99_ms = latencies[std::min(latencies.size() - 1, latencies.size() * 99 / 100)];
    }
    return r;
  }

 private:
  static constexpr auto kTimeout = std::chrono::milliseconds(500);

  bool fail(const char* what) {
    std::perror(what);
    return false;
  }

  // A relayed client message; the xid names the client.
  void send(std::size_t i, MessageType type) {
    Client& c = clients_[i];
    Message m;
    m.xid = static_cast<std::uint32_t>(i);
    m.hops = 1;
    m.giaddr = relay_;
    std::copy(c.mac.begin(), c.mac.end(), m.chaddr.begin());
    const std::uint8_t t[] = {static_cast<std::uint8_t>(type)};
    m.add_option(53, t);
    if (type == MessageType::request) {
      m.add_option(50, c.address.bytes());
      m.add_option(54, server_.bytes());
    }
    m.pad_to = 300;
    if (!m.serialize_into(buf_)) return;
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(67);
    to.sin_addr.s_addr = std::bit_cast<std::uint32_t>(server_.bytes());
    c.sent = Clock::now();
    (void)::sendto(fd_, buf_.data(), buf_.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));
  }

  // Replies waiting now (after a short poll), each handed to `on` with its client index.
  template <typename On>
  void receive(On on) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 1) <= 0) return;
    std::uint8_t rx[1500];
    for (;;) {
      const ssize_t n = ::recv(fd_, rx, sizeof(rx), 0);
      if (n <= 0) return;
      auto reply = Message::parse(std::span(rx, static_cast<std::size_t>(n)));
      if (!reply || reply->op != 2 || reply->xid >= clients_.size()) continue;
      on(reply->xid, *reply);
    }
  }

  Ipv4 server_, relay_;
  std::vector<Client> clients_;
  std::vector<std::uint8_t> buf_;
  std::uint64_t sweeps_ = 0;
  int fd_ = -1;
};

}  // namespace

int main(int argc, char** argv) {
  std::string server_s, relay_s, prefix = "02:41";
  std::size_t clients = 1000, window = 64;
  double seconds = 5;
  po::options_description desc("dhcp_relay_load options");
  desc.add_options()("help", "this help")(
      "server", po::value(&server_s)->required(), "DHCP server address")(
      "relay", po::value(&relay_s)->required(), "local relay address (binds UDP 67)")(
      "clients", po::value(&clients)->default_value(clients), "returning subscribers")(
      "window", po::value(&window)->default_value(window), "requests in flight")(
      "seconds", po::value(&seconds)->default_value(seconds), "length of the REQUEST loop")(
      "mac-prefix", po::value(&prefix)->default_value(prefix), "first two MAC octets, e.g. 02:41");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    if (vm.count("help")) {
      std::printf("%s\n", "dhcp_relay_load: closed-loop relayed DHCPv4 REQUEST load");
      return 0;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    std::fprintf(stderr, "dhcp_relay_load: %s\n", e.what());
    return 2;
  }
  const auto server = parse_ipv4(server_s);
  const auto relay = parse_ipv4(relay_s);
  unsigned p0 = 0, p1 = 0;
  if (!server || !relay || std::sscanf(prefix.c_str(), "%x:%x", &p0, &p1) != 2 || p0 > 255 || p1 > 255 ||
      clients == 0 || clients > (1U << 24) || window == 0 || window > clients || seconds <= 0) {
    std::fprintf(stderr, "dhcp_relay_load: bad --server, --relay, --mac-prefix, --clients, --window or --seconds\n");
    return 2;
  }
  RelayLoad load(*server, *relay, clients, static_cast<std::uint8_t>(p0), static_cast<std::uint8_t>(p1));
  if (!load.open()) return 1;
  const std::size_t bound = load.bind_all(window, std::chrono::seconds(60));
  if (bound < clients) {
    std::fprintf(stderr, "dhcp_relay_load: only %zu of %zu clients got a lease\n", bound, clients);
    return 1;
  }
  const auto r = load.renew_loop(window, std::chrono::duration<double>(seconds));
  std::printf("acks_per_s=%.0f p50_ms=%.3f p99_ms=%.3f lost=%zu bound=%zu\n", r.acks_per_s, r.p50_ms, r.p99_ms,
              r.lost, bound);
  return 0;
}
