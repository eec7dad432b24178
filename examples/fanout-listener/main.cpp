// fanout-listener: embed a bngkit::fanout listener in your own program. It listens on a
// UDP port and replicates every datagram to two receivers; here the receivers are two
// sockets of this program, so it checks itself: every datagram sent to the listener must
// arrive once at each receiver. Userspace engine, no privileges needed.
//
//   fanout-listener [COUNT]      (default 100 datagrams)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bngkit/fanout/fanout.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

namespace fo = bngkit::fanout;

namespace {

// A UDP socket on 127.0.0.1 with a port the kernel picked.
struct Udp {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  std::uint16_t port = 0;
  Udp() {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      std::perror("fanout-listener: socket");
      std::exit(1);
    }
    port = ntohs(a.sin_port);
  }
  ~Udp() { ::close(fd); }
  Udp(const Udp&) = delete;
  Udp& operator=(const Udp&) = delete;
};

fo::Endpoint loopback(std::uint16_t port) { return {htonl(INADDR_LOOPBACK), port}; }

// Datagrams that arrive at `rx` within `wait`.
int drain(const Udp& rx, std::chrono::milliseconds wait) {
  int n = 0;
  pollfd p{rx.fd, POLLIN, 0};
  char buf[2048];
  while (::poll(&p, 1, static_cast<int>(wait.count())) == 1) {
    while (::recv(rx.fd, buf, sizeof buf, MSG_DONTWAIT) > 0) ++n;
  }
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  const int count = argc > 1 ? std::atoi(argv[1]) : 100;
  Udp receiver_a, receiver_b;
  std::uint16_t listen_port = 0;
  {
    Udp probe;  // a free port for the listener (released just before the fanout binds it)
    listen_port = probe.port;
  }

  fo::ListenerConfig listener;
  listener.name = "example";
  listener.bind = loopback(listen_port);
  listener.mode = fo::Mode::userspace;
  listener.policy = fo::Policy::replicate;
  listener.preserve_source = false;  // keeping the sender's address needs CAP_NET_RAW
  listener.downstreams = {{"receiver-a", loopback(receiver_a.port)},
                          {"receiver-b", loopback(receiver_b.port)}};
  fo::FanoutConfig config;
  config.listeners.push_back(listener);
  config.health.enabled = false;  // the receivers here answer no probes
  if (auto problems = fo::config_problems(config); !problems.empty()) {
    for (const auto& p : problems) std::fprintf(stderr, "fanout-listener: %s\n", p.c_str());
    return 1;
  }

  fo::Fanout fanout(std::move(config));
  if (auto r = fanout.start(); !r) {
    std::fprintf(stderr, "fanout-listener: %s\n", r.error().message().c_str());
    return 1;
  }
  for (int i = 0; i < 50 && !fanout.ready(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::string why;
  if (!fanout.ready(&why)) {
    std::fprintf(stderr, "fanout-listener: not ready: %s\n", why.c_str());
    return 1;
  }

  // A sender: any UDP client pointed at the listener.
  Udp sender;
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  to.sin_port = htons(listen_port);
  for (int i = 0; i < count; ++i) {
    const std::string msg = "event " + std::to_string(i);
    if (::sendto(sender.fd, msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&to),
                 sizeof to) < 0) {
      std::perror("fanout-listener: sendto");
      return 1;
    }
    if (i % 32 == 31) std::this_thread::sleep_for(std::chrono::milliseconds(1));  // no burst loss
  }
  const int got_a = drain(receiver_a, std::chrono::milliseconds(500));
  const int got_b = drain(receiver_b, std::chrono::milliseconds(100));

  for (const auto& l : fanout.status()) {
    std::printf("listener %s (%s, %s): received %llu, forwarded %llu, dropped %llu\n",
                l.name.c_str(), std::string(fo::to_string(l.mode)).c_str(),
                std::string(fo::to_string(l.policy)).c_str(),
                static_cast<unsigned long long>(l.stats.received_packets),
                static_cast<unsigned long long>(l.stats.forwarded_packets),
                static_cast<unsigned long long>(l.stats.total_dropped()));
  }
  fanout.stop();
  std::printf("sent %d, receiver-a got %d, receiver-b got %d\n", count, got_a, got_b);
  return got_a == count && got_b == count ? 0 : 1;
}
