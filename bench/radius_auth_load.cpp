// Closed-loop RADIUS authentication load through bngkit's radius::Client: unique
// Access-Requests (User-Name <prefix><n>, PAP password), a fixed number in flight, until
// --count are answered or --seconds pass. Used by radius_auth_bench.sh against FreeRADIUS,
// next to radclient driving the same server.
//
//   radius_auth_load --server 127.0.0.1:1812 --secret testing123 [--count 20000]
//                    [--parallel 64] [--seconds 60] [--user-prefix bench-] [--password bench-pw]
//
// Prints one line: "sent=<n> accepted=<n> rejected=<n> failed=<n> seconds=<s> rate=<auth/s>
// p50_ms=<x> p99_ms=<y> retransmits=<n>" (latency from send() to the verified reply).
#include <algorithm>
#include <bngkit/bng/radius/client.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

namespace po = boost::program_options;
namespace radius = bngkit::bng::radius;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  std::string server;
  std::string secret;
  std::string user_prefix;
  std::string password;
  std::size_t count = 0;
  unsigned parallel = 0;
  double seconds = 0;
  po::options_description options("radius_auth_load");
  options.add_options()("help", "this text")("server", po::value(&server)->required(),
                                             "RADIUS server address:auth-port")(
      "secret", po::value(&secret)->required(), "shared secret")(
      "count", po::value(&count)->default_value(20000), "requests to send")(
      "parallel", po::value(&parallel)->default_value(64), "requests in flight")(
      "seconds", po::value(&seconds)->default_value(60), "stop sending after this long")(
      "user-prefix", po::value(&user_prefix)->default_value("bench-"), "User-Name prefix")(
      "password", po::value(&password)->default_value("bench-pw"), "PAP password");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, options), vm);
    if (vm.count("help")) {
      std::printf("%s\n", (std::ostringstream() << options).str().c_str());
      return 0;
    }
    po::notify(vm);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "radius_auth_load: %s\n", e.what());
    return 2;
  }
  const auto colon = server.rfind(':');
  if (colon == std::string::npos || parallel == 0) {
    std::fprintf(stderr, "radius_auth_load: --server wants address:port, --parallel >= 1\n");
    return 2;
  }

  boost::asio::io_context io;
  radius::ClientOptions client_options;
  radius::ServerConfig config;
  config.host = server.substr(0, colon);
  config.auth_port = static_cast<std::uint16_t>(std::stoul(server.substr(colon + 1)));
  config.secret = secret;
  client_options.servers = {config};
  client_options.timeout = std::chrono::milliseconds(3000);
  client_options.retries = 2;
  auto client = radius::Client::create(io, client_options);
  if (!client) {
    std::fprintf(stderr, "radius_auth_load: %s\n", client.error().message().c_str());
    return 1;
  }

  std::vector<double> latencies_ms;
  latencies_ms.reserve(count);
  std::size_t sent = 0, accepted = 0, rejected = 0, failed = 0;
  const auto start = Clock::now();
  const auto deadline =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::function<void()> send_one = [&] {
    radius::Packet request(radius::Code::kAccessRequest, 0);
    (void)request.add(radius::attr::kUserName, user_prefix + std::to_string(sent));
    request.add_integer(radius::attr::kNasPortType,
                        static_cast<std::uint32_t>(radius::NasPortType::kEthernet));
    ++sent;
    const auto begun = Clock::now();
    (*client)->send(
        radius::Request{std::move(request), password},
        [&, begun](bngkit::Result<radius::Packet> reply) {
          if (!reply) {
            ++failed;
          } else if (reply->code == radius::Code::kAccessAccept) {
            ++accepted;
            latencies_ms.push_back(
                std::chrono::duration<double, std::milli>(Clock::now() - begun).count());
          } else {
            ++rejected;
          }
          if (sent < count && Clock::now() < deadline) {
            send_one();
          } else if (accepted + rejected + failed == sent) {
            (*client)->stop();  // its sockets' receives would keep io.run() going
          }
        });
  };
  for (unsigned i = 0; i < parallel && sent < count; ++i) send_one();
  io.run();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();

  std::sort(latencies_ms.begin(), latencies_ms.end());
  auto percentile = [&](double p) {
    if (latencies_ms.empty()) return 0.0;
    return latencies_ms[std::min(
        latencies_ms.size() - 1,
        static_cast<std::size_t>(p * static_cast<double>(latencies_ms.size())))];
  };
  const auto stats = (*client)->stats();
  std::printf(
      "sent=%zu accepted=%zu rejected=%zu failed=%zu seconds=%.3f rate=%.0f p50_ms=%.3f "
      "p99_ms=%.3f retransmits=%llu\n",
      sent, accepted, rejected, failed, elapsed, static_cast<double>(accepted) / elapsed,
      percentile(0.50), percentile(0.99),
      static_cast<unsigned long long>(stats.auth[0].retransmits));
  return failed == 0 && rejected == 0 ? 0 : 1;
}
