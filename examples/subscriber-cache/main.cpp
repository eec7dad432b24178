// Your control plane decides who gets which address; the kernel answers them. This loads
// bngkit's XDP DHCP fast path, gives it a pool and two subscribers (one by MAC, one by the
// option-82 circuit-id its access node inserts), and runs DISCOVERs through the program
// with BPF_PROG_TEST_RUN: cached subscribers get an OFFER built in the kernel, others are
// passed to the slow path. The served-lease ring buffer and the counters say what happened.
// Attach it to an interface with fp.attach("eth1") to serve real clients. Needs root.
#include <unistd.h>

#include <bngkit/bng/dhcp/frame.hpp>
#include <bngkit/bng/dhcp/message.hpp>
#include <bngkit/bng/fastpath/fast_path.hpp>
#include <chrono>
#include <cstdio>
#include <string>

namespace dhcp = bngkit::bng::dhcp;
namespace fp = bngkit::bng::fastpath;
using namespace std::chrono_literals;

namespace {

constexpr std::uint32_t kXdpPass = 2, kXdpTx = 3;

// A client's broadcast DISCOVER, optionally relayed by an access node with a circuit-id.
std::vector<std::uint8_t> discover(const std::string& mac_text, const std::string& circuit = "") {
  dhcp::Message m;
  m.xid = 0x1234;
  m.flags = 0x8000;
  const auto mac = dhcp::MacAddress::parse(mac_text).value();
  std::copy(mac.bytes().begin(), mac.bytes().end(), m.chaddr.begin());
  const std::uint8_t type[] = {1};
  m.add_option(53, type);
  if (!circuit.empty()) {
    std::vector<std::uint8_t> rai = {1, static_cast<std::uint8_t>(circuit.size())};
    rai.insert(rai.end(), circuit.begin(), circuit.end());
    m.add_option(82, rai);
  }
  m.pad_to = 300;
  dhcp::UdpFrame h;
  h.src_mac = mac;
  return dhcp::build_dhcp_frame(h, m).value();
}

// Option 51 of a reply, in seconds (0 when absent).
unsigned lease_seconds(const dhcp::Message& m) {
  auto v = m.option(51);
  if (!v || v->size() != 4) return 0;
  return static_cast<unsigned>((*v)[0]) << 24 | static_cast<unsigned>((*v)[1]) << 16 |
         static_cast<unsigned>((*v)[2]) << 8 | static_cast<unsigned>((*v)[3]);
}

int fail(const char* step, const bngkit::Error& e) {
  std::fprintf(stderr, "%s: %s\n", step, e.message().c_str());
  return 1;
}

void show(const char* who, const bngkit::Result<fp::TestRunOutput>& out) {
  if (!out) {
    std::printf("%-28s error: %s\n", who, out.error().message().c_str());
    return;
  }
  if (out->action != kXdpTx) {
    std::printf("%-28s XDP_PASS: left to the slow path\n", who);
    return;
  }
  auto frame = dhcp::parse_udp_frame(out->frame);
  auto reply = frame ? dhcp::Message::parse(frame->payload) : bngkit::Result<dhcp::Message>(frame.error());
  std::printf("%-28s XDP_TX: OFFER of %s, lease %us, built in %u ns\n", who,
              reply ? reply->yiaddr.to_string().c_str() : "?",
              reply ? lease_seconds(*reply) : 0U,
              out->duration_ns);
}

}  // namespace

int main() {
  if (geteuid() != 0) {
    std::fprintf(stderr, "subscriber-cache: needs root (loads an XDP program)\n");
    return 77;
  }
  auto opened = fp::FastPath::open();  // FastPathOptions{.pin_dir = ...} keeps the cache across restarts
  if (!opened) return fail("loading the fast path", opened.error());
  fp::FastPath& path = *opened;

  fp::ServerConfig server;
  server.server_ip = dhcp::Ipv4(10, 0, 0, 1);
  server.server_mac = dhcp::MacAddress::parse("02:00:5e:00:00:01").value();
  fp::PoolParams pool;
  pool.subnet_mask = dhcp::Ipv4(255, 255, 252, 0);
  pool.router = dhcp::Ipv4(10, 0, 0, 1);
  pool.dns = {dhcp::Ipv4(10, 0, 0, 1)};
  pool.lease_time = 3600s;
  if (auto r = path.set_server_config(server); !r) return fail("server config", r.error());
  if (auto r = path.set_pool(1, pool); !r) return fail("pool 1", r.error());

  // Your control plane's decisions: served until the lease would expire.
  const auto until = std::chrono::steady_clock::now() + 1h;
  fp::CacheEntry by_mac{dhcp::Ipv4(10, 0, 0, 42), 1, until};
  fp::CacheEntry by_line{dhcp::Ipv4(10, 0, 0, 43), 1, until};
  const std::string circuit = "olt-east-01 pon 1/1/3 ont 7";
  const std::span line(reinterpret_cast<const std::uint8_t*>(circuit.data()), circuit.size());
  if (auto r = path.cache_by_mac(dhcp::MacAddress::parse("02:00:5e:10:00:01").value(), by_mac); !r) {
    return fail("caching by MAC", r.error());
  }
  if (auto r = path.cache_by_circuit_id(line, by_line); !r) return fail("caching by circuit-id", r.error());

  show("cached MAC", path.test_run(discover("02:00:5e:10:00:01")));
  show("cached circuit-id", path.test_run(discover("02:00:5e:10:00:99", circuit)));
  show("unknown subscriber", path.test_run(discover("02:00:5e:10:00:02")));
  (void)path.uncache_by_mac(dhcp::MacAddress::parse("02:00:5e:10:00:01").value());
  show("cached MAC, after uncache", path.test_run(discover("02:00:5e:10:00:01")));

  std::size_t served = 0;
  (void)path.poll_events([&](const fp::LeaseEvent& e) {
    ++served;
    std::printf("ring buffer: served %s to %s\n", e.ip.to_string().c_str(), e.chaddr.to_string().c_str());
  });
  auto stats = path.stats();
  if (!stats) return fail("reading counters", stats.error());
  std::printf("counters: %llu requests, %llu offers, %llu passed for no cache entry\n",
              static_cast<unsigned long long>(stats->rx_requests), static_cast<unsigned long long>(stats->tx_offer),
              static_cast<unsigned long long>(stats->pass_no_entry));
  return served == 2 && stats->tx_offer == 2 ? 0 : 1;
}
