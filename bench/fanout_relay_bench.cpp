// System benchmark of UDP fanout relays, all measured in the same run on the same
// topology: a client namespace blasting small datagrams (64 source ports) over a veth
// into a relay namespace, and 1, 4 or 16 receiver namespaces behind it. Relays:
//   udp-fanout userspace engine and TC eBPF engine (the daemon binary), replicate and
//   balance; a naive relay (one recvfrom, N sendto); socat (one process per
//   downstream); and the kernel's own IPv4 forwarding (the client addresses the
//   receivers directly, one copy per datagram).
// Delivered = datagrams reaching the receivers' UDP sockets (never read: queued or
// dropped at a full queue, the same cheap cost for every relay). Per core: delivered/s divided by
// the CPU the relay itself used (its process; for the TC engine the program's run time from BPF run
// statistics) and, since softirq work cannot be pinned on one party, by all busy CPU of the machine
// too. Needs root. Usage:
//   fanout_relay_bench [--seconds S] [--payload BYTES] [--downstreams 1,4,16] [--only TEXT]
#include <bngkit/ebpfkit/attach.hpp>
#include <bngkit/ebpfkit/probe.hpp>
#include <bngkit/ebpfkit/program.hpp>

#include <fstream>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>

#include "daemon_util.hpp"

namespace {

using bngkit::fanout::Endpoint;
using fotest::Child;
using fotest::Topology;
using namespace std::chrono_literals;

constexpr std::uint16_t kListenPort = 5514;
constexpr std::uint16_t kReceiverPort = 9000;
constexpr int kFlows = 64;

struct Options {
  double seconds = 2.0;
  std::size_t payload = 64;
  std::vector<std::size_t> downstreams{1, 4, 16};
  std::string only;  // run only relays whose "name policy" contains this
};

std::uint64_t busy_ticks() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  std::uint64_t user, nice, system, idle, iowait, irq, softirq, steal;
  in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  return user + nice + system + irq + softirq + steal;
}

std::uint64_t process_ticks(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(in, line);
  const auto close = line.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  std::uint64_t utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return utime + stime;
}

// Datagrams that reached UDP in namespace `ns`: queued to a socket (InDatagrams) or
// dropped because its queue was full (RcvbufErrors), from /proc/thread-self/net/snmp of
// a thread there. Counted per datagram after GSO segmentation, unlike interface packets.
std::uint64_t udp_datagrams_in(const std::string& ns) {
  return fotest::in_netns(ns, [&]() -> std::uint64_t {
    std::ifstream in("/proc/thread-self/net/snmp");
    std::string header, values;
    while (std::getline(in, header)) {
      if (header.rfind("Udp: ", 0) != 0) continue;
      std::getline(in, values);
      std::istringstream h(header.substr(5)), v(values.substr(5));
      std::uint64_t total = 0;
      std::string name;
      std::uint64_t value = 0;
      while (h >> name && v >> value) {
        if (name == "InDatagrams" || name == "RcvbufErrors") total += value;
      }
      return total;
    }
    return 0;
  });
}

// The load: kFlows connected UDP sockets in the client namespace, sendmmsg bursts of 64.
// `targets` empty: every socket sends to the relay; else socket k sends to targets[k % n].
std::uint64_t blast(const std::string& ns, const std::vector<Endpoint>& targets,
                    std::size_t payload, std::chrono::duration<double> duration) {
  std::vector<int> fds = fotest::in_netns(ns, [&] {
    std::vector<int> out;
    for (int k = 0; k < kFlows; ++k) {
      const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      const Endpoint to = targets.empty() ? Endpoint::parse(std::string(Topology::kFanoutAddr) +
                                                            ":" + std::to_string(kListenPort))
                                                .value()
                                          : targets[static_cast<std::size_t>(k) % targets.size()];
      sockaddr_in sa{};
      sa.sin_family = AF_INET;
      sa.sin_addr.s_addr = to.address_be;
      sa.sin_port = htons(to.port);
      ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
      out.push_back(fd);
    }
    return out;
  });
  std::string data(payload, 'x');
  constexpr int kBurst = 64;
  std::vector<iovec> iov(kBurst, iovec{data.data(), data.size()});
  std::vector<mmsghdr> msgs(kBurst);
  for (int i = 0; i < kBurst; ++i) {
    msgs[i].msg_hdr = {};
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  std::uint64_t sent = 0;
  const auto deadline = fotest::Clock::now() + duration;
  while (fotest::Clock::now() < deadline) {
    for (int fd : fds) {
      const int n = ::sendmmsg(fd, msgs.data(), kBurst, 0);
      if (n > 0) sent += static_cast<std::uint64_t>(n);
    }
  }
  for (int fd : fds) ::close(fd);
  return sent;
}

// One relay under test, running in the fanout namespace.
struct Relay {
  std::string name;
  std::string policy;
  std::vector<Child> processes;
  bool tc = false;      // relay CPU from the TC program's run time
  bool kernel = false;  // no relay: the client addresses receivers directly
  std::string skip;     // why this combination is not measured
};

// Runs `fn` in a child process inside namespace `ns`.
template <typename Fn>
Child fork_in(const std::string& ns, Fn&& fn) {
  const pid_t pid = ::fork();
  if (pid != 0) return Child(pid);
  const int fd = ::open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) ::_exit(120);
  fn();
  ::_exit(0);
}

// The naive relay: one blocking recvfrom, then one sendto per copy.
void naive_relay(const std::vector<Endpoint>& targets, bool replicate) {
  const int in = ::socket(AF_INET, SOCK_DGRAM, 0);
  const int out = ::socket(AF_INET, SOCK_DGRAM, 0);
  const int big = 16 << 20;
  ::setsockopt(in, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(kListenPort);
  ::inet_pton(AF_INET, Topology::kFanoutAddr, &sa.sin_addr);
  if (::bind(in, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) ::_exit(122);
  std::vector<sockaddr_in> to;
  for (const auto& t : targets) {
    sockaddr_in d{};
    d.sin_family = AF_INET;
    d.sin_addr.s_addr = t.address_be;
    d.sin_port = htons(t.port);
    to.push_back(d);
  }
  char buf[65536];
  std::size_t next = 0;
  for (;;) {
    const ssize_t n = ::recvfrom(in, buf, sizeof buf, 0, nullptr, nullptr);
    if (n < 0) continue;
    if (replicate) {
      for (const auto& d : to)
        ::sendto(out, buf, static_cast<std::size_t>(n), 0, reinterpret_cast<const sockaddr*>(&d),
                 sizeof d);
    } else {
      const auto& d = to[next++ % to.size()];
      ::sendto(out, buf, static_cast<std::size_t>(n), 0, reinterpret_cast<const sockaddr*>(&d),
               sizeof d);
    }
  }
}

struct Result {
  double sent_per_s = 0, delivered_per_s = 0, busy_cores = 0, relay_cores = 0;
};

class Bench {
 public:
  Bench(const Options& o, std::size_t n) : opts_(o), n_(n), topo_(n), dir_() {
    for (std::size_t i = 0; i < n && topo_.ok(); ++i) {
      targets_.push_back(Topology::receiver_endpoint(i, kReceiverPort));
      // A socket that is never read, so datagrams count in the receiver's UDP MIB.
      sinks_.push_back(fotest::in_netns(topo_.receivers[i]->name(), [&] {
        const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = targets_.back().address_be;
        sa.sin_port = htons(kReceiverPort);
        ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
        return fd;
      }));
    }
  }
  ~Bench() {
    for (int fd : sinks_) ::close(fd);
  }
  Bench(const Bench&) = delete;
  Bench& operator=(const Bench&) = delete;
  [[nodiscard]] bool ok() const { return topo_.ok(); }

  // `keep_source` false: the userspace engine sends from its own address (UDP sockets,
  // GSO) instead of raw sockets with the sender's address.
  Relay fanout(const std::string& mode, const std::string& policy, bool keep_source = true) {
    Relay r{
        "udp-fanout " + mode + (keep_source ? "" : " (own src)"), policy, {}, mode == "tc_ebpf"};
    std::string cfg = "[tc]\npin_path = \"/sys/fs/bpf/fanout-bench-" + fotest::unique_tag() +
                      "\"\n[health]\nenabled = false\n[metrics]\nbind = \"127.0.0.1:9190\"\n"
                      "[log]\nlevel = \"warn\"\n[[listeners]]\nname = \"bench\"\nbind = \"" +
                      std::string(Topology::kFanoutAddr) + ":" + std::to_string(kListenPort) +
                      "\"\ninterface = \"f0\"\nmode = \"" + mode + "\"\npolicy = \"" + policy +
                      "\"\npreserve_source = " + (keep_source ? "true" : "false") +
                      "\n[listeners.settings]\nrecv_buf_size = 16777216\nbatch_size = 64\n";
    for (const auto& t : targets_)
      cfg += "[[listeners.downstream]]\naddress = \"" + t.to_string() + "\"\n";
    const auto path = dir_.write("fanout-" + mode + "-" + policy + ".toml", cfg);
    r.processes.push_back(fotest::spawn(topo_.fanout->name(),
                                        {UDP_FANOUT_BIN, "run", "--config", path},
                                        (dir_.path / "fanout.log").string()));
    const bool up = fotest::wait_until(
        [&] {
          return fotest::http_get(topo_.fanout->name(), "127.0.0.1", 9190, "/health/ready").first ==
                 200;
        },
        5s);
    if (!up)
      r.skip =
          "udp-fanout did not become ready: " + fotest::slurp((dir_.path / "fanout.log").string());
    return r;
  }

  Relay naive(const std::string& policy) {
    Relay r{"naive recvfrom+sendto", policy, {}};
    const bool replicate = policy == "replicate";
    const auto targets = targets_;
    r.processes.push_back(
        fork_in(topo_.fanout->name(), [targets, replicate] { naive_relay(targets, replicate); }));
    std::this_thread::sleep_for(100ms);
    return r;
  }

  Relay socat(const std::string& policy) {
    Relay r{"socat", policy, {}};
    if (policy == "replicate" && n_ > 1) {
      r.skip = "socat sends each datagram to one address";
      return r;
    }
    // One socat per downstream on a SO_REUSEPORT group: the kernel spreads the flows.
    for (const auto& t : targets_) {
      r.processes.push_back(fotest::spawn(topo_.fanout->name(),
                                          {"/usr/bin/socat", "-u", "-b", "65536",
                                           "UDP4-RECV:" + std::to_string(kListenPort) + ",bind=" +
                                               Topology::kFanoutAddr + ",reuseport,rcvbuf=16777216",
                                           "UDP4-SENDTO:" + t.to_string()},
                                          (dir_.path / "socat.log").string()));
    }
    std::this_thread::sleep_for(200ms);
    return r;
  }

  Relay kernel() {
    Relay r{"kernel IPv4 forwarding", "balance", {}};
    r.kernel = true;
    return r;
  }

  Result measure(Relay& relay) {
    std::optional<bngkit::ebpfkit::StatsEnabler> stats;
    std::optional<bngkit::ebpfkit::ProgramHandle> prog;
    bngkit::ebpfkit::RunStats before_run{};
    if (relay.tc) {
      auto s = bngkit::ebpfkit::StatsEnabler::enable();
      if (s) stats.emplace(std::move(s).value());
      auto id = fotest::in_netns(topo_.fanout->name(), [] {
        auto ifindex = bngkit::ebpfkit::interface_index("f0");
        return ifindex ? bngkit::ebpfkit::tc_query(*ifindex, bngkit::ebpfkit::TcDirection::ingress,
                                                   1, 0xfa0)
                       : bngkit::Result<std::uint32_t>(ifindex.error());
      });
      if (id && *id != 0) {
        auto h = bngkit::ebpfkit::ProgramHandle::from_id(*id);
        if (h) prog.emplace(std::move(h).value());
      }
      if (prog)
        before_run = bngkit::ebpfkit::run_stats(*prog).value_or(bngkit::ebpfkit::RunStats{});
    }
    std::uint64_t rx_before = 0;
    for (const auto& ns : topo_.receivers) rx_before += udp_datagrams_in(ns->name());
    std::uint64_t relay_before = 0;
    for (const auto& p : relay.processes) relay_before += process_ticks(p.pid());
    const std::uint64_t busy_before = busy_ticks();
    const auto t0 = fotest::Clock::now();
    const auto sent = blast(topo_.client->name(), relay.kernel ? targets_ : std::vector<Endpoint>{},
                            opts_.payload, std::chrono::duration<double>(opts_.seconds));
    const double elapsed = std::chrono::duration<double>(fotest::Clock::now() - t0).count();
    std::this_thread::sleep_for(100ms);  // queues drain into the receivers
    const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
    Result r;
    r.busy_cores = static_cast<double>(busy_ticks() - busy_before) / ticks / elapsed;
    std::uint64_t rx_after = 0;
    for (const auto& ns : topo_.receivers) rx_after += udp_datagrams_in(ns->name());
    r.sent_per_s = static_cast<double>(sent) / elapsed;
    r.delivered_per_s = static_cast<double>(rx_after - rx_before) / elapsed;
    if (relay.tc && prog) {
      const auto after = bngkit::ebpfkit::run_stats(*prog).value_or(before_run);
      r.relay_cores = static_cast<double>(after.since(before_run).run_time_ns) / 1e9 / elapsed;
    } else {
      std::uint64_t relay_after = 0;
      for (const auto& p : relay.processes) relay_after += process_ticks(p.pid());
      r.relay_cores = static_cast<double>(relay_after - relay_before) / ticks / elapsed;
    }
    return r;
  }

  [[nodiscard]] std::size_t n() const { return n_; }
  [[nodiscard]] const std::string& fanout_ns() const { return topo_.fanout->name(); }

 private:
  Options opts_;
  std::size_t n_;
  Topology topo_;
  fotest::TempDir dir_;
  std::vector<Endpoint> targets_;
  std::vector<int> sinks_;
};

std::string rate(double v) {
  std::ostringstream s;
  if (v >= 1e6) {
    s << std::fixed << std::setprecision(2) << v / 1e6 << "M";
  } else {
    s << std::fixed << std::setprecision(0) << v / 1e3 << "k";
  }
  return s.str();
}

}  // namespace

int main(int argc, char** argv) {
  Options opts;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--seconds" && i + 1 < argc) {
      opts.seconds = std::stod(argv[++i]);
    } else if (a == "--payload" && i + 1 < argc) {
      opts.payload = std::stoul(argv[++i]);
    } else if (a == "--only" && i + 1 < argc) {
      opts.only = argv[++i];
    } else if (a == "--downstreams" && i + 1 < argc) {
      opts.downstreams.clear();
      std::stringstream list(argv[++i]);
      for (std::string n; std::getline(list, n, ',');) opts.downstreams.push_back(std::stoul(n));
    } else {
      std::cerr << "usage: fanout_relay_bench [--seconds S] [--payload BYTES] "
                   "[--downstreams 1,4,16] [--only TEXT]\n";
      return 2;
    }
  }
  if (!fotest::have_net_admin()) {
    std::cout << "fanout_relay_bench: needs root (network namespaces, raw sockets, BPF); skipped\n";
    return 0;
  }
  std::cout
      << "UDP fanout relays, " << opts.payload << "-byte datagrams from " << kFlows << " flows for "
      << opts.seconds << " s each, " << std::thread::hardware_concurrency() << " CPUs\n"
      << "delivered = copies reaching the receivers; per relay core = delivered/s per core the "
         "relay used (process CPU, or BPF run time for TC); per busy core = per core of all "
         "CPU busy on the machine\n\n";
  std::cout << std::left << std::setw(4) << "N" << std::setw(26) << "relay" << std::setw(11)
            << "policy" << std::right << std::setw(10) << "offered/s" << std::setw(12)
            << "delivered/s" << std::setw(12) << "relay cores" << std::setw(16) << "per relay core"
            << std::setw(11) << "busy cores" << std::setw(15) << "per busy core"
            << "\n";
  for (std::size_t n : opts.downstreams) {
    Bench bench(opts, n);
    if (!bench.ok()) {
      std::cerr << "could not build the topology for " << n << " downstreams\n";
      return 1;
    }
    // (label for --only, how to start it)
    const std::vector<std::pair<std::string, std::function<Relay()>>> relays = {
        {"udp-fanout userspace replicate", [&] { return bench.fanout("userspace", "replicate"); }},
        {"udp-fanout userspace balance", [&] { return bench.fanout("userspace", "balance"); }},
        {"udp-fanout userspace (own src) replicate",
         [&] { return bench.fanout("userspace", "replicate", false); }},
        {"udp-fanout userspace (own src) balance",
         [&] { return bench.fanout("userspace", "balance", false); }},
        {"udp-fanout tc_ebpf replicate", [&] { return bench.fanout("tc_ebpf", "replicate"); }},
        {"udp-fanout tc_ebpf balance", [&] { return bench.fanout("tc_ebpf", "balance"); }},
        {"naive recvfrom+sendto replicate", [&] { return bench.naive("replicate"); }},
        {"naive recvfrom+sendto balance", [&] { return bench.naive("balance"); }},
        {"socat replicate", [&] { return bench.socat("replicate"); }},
        {"socat balance", [&] { return bench.socat("balance"); }},
        {"kernel IPv4 forwarding balance", [&] { return bench.kernel(); }},
    };
    for (const auto& [label, make] : relays) {
      if (!opts.only.empty() && label.find(opts.only) == std::string::npos) continue;
      Relay relay = make();
      // SIGTERM first: a udp-fanout with a TC program detaches it and removes its pins.
      struct StopRelay {
        Relay& relay;
        ~StopRelay() {
          for (auto& p : relay.processes) {
            p.kill(SIGTERM);
            if (p.wait_exit(5s) < 0) p.kill();
          }
        }
      } stop{relay};
      const bool is_fanout = relay.name.rfind("udp-fanout", 0) == 0;
      std::cout << std::left << std::setw(4) << n << std::setw(26) << relay.name << std::setw(11)
                << relay.policy << std::right;
      if (!relay.skip.empty()) {
        std::cout << "  n/a: " << relay.skip << "\n";
        continue;
      }
      const auto r = bench.measure(relay);
      std::cout << std::setw(10) << rate(r.sent_per_s) << std::setw(12) << rate(r.delivered_per_s)
                << std::setw(12) << std::fixed << std::setprecision(2)
                << (relay.kernel ? 0.0 : r.relay_cores) << std::setw(16)
                << (relay.kernel || r.relay_cores <= 0 ? std::string("n/a")
                                                       : rate(r.delivered_per_s / r.relay_cores))
                << std::setw(11) << std::setprecision(2) << r.busy_cores << std::setw(15)
                << rate(r.busy_cores > 0 ? r.delivered_per_s / r.busy_cores : 0);
      if (is_fanout && std::getenv("FANOUT_BENCH_DEBUG") != nullptr) {
        const auto m = fotest::http_get(bench.fanout_ns(), "127.0.0.1", 9190, "/metrics").second;
        for (const char* series :
             {"udp_fanout_packets_received_total{listener=\"bench\"}",
              "udp_fanout_packets_forwarded_total{listener=\"bench\"}",
              "udp_fanout_packets_dropped_total{listener=\"bench\",reason=\"receive_queue_full\"}",
              "udp_fanout_packets_dropped_total{listener=\"bench\",reason=\"send_error\"}"}) {
          std::cout << " " << fotest::sample(m, series).value_or(-1);
        }
      }
      std::cout << "\n" << std::flush;
    }
  }
  return 0;
}
