// libFuzzer target for the daemons' TOML config parsers (bng, nexus, udp-fanout): any text
// either parses or is rejected with an error whose message starts with the file name; a parse
// is deterministic (the same text gives the same config or the same error twice) and what
// parses re-validates (no pool or fanout problems left in an accepted config). Also linked
// into the GoogleTest suite tests/fuzz/config_fuzz_corpus_test.cpp (BNGKIT_FUZZ_IN_GTEST).
#include <bngkit/bng/pool/pool_config.hpp>
#include <bngkit/fanout/config.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

// The three daemons' headers share one file name; reach each by its directory.
#include "../apps/bng/config.hpp"
#include "../apps/nexus/config.hpp"
#include "../apps/udp-fanout/config.hpp"

#define CONFIG_FUZZ_CHECK(cond)                                                                   \
  do {                                                                                            \
    if (!(cond)) {                                                                                \
      std::fprintf(stderr, "config fuzz: check failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                               \
    }                                                                                             \
  } while (0)

namespace bngkit::fuzz {

namespace {

// `*_file` keys make the parsers read the named file: keep them off device and proc files
// (an endless /dev/zero or a blocking /dev/stdin would stall the fuzzer, not find a bug).
bool reads_special_files(std::string_view text) {
  if (text.find("_file") == std::string_view::npos) return false;
  for (std::string_view danger : {"/dev", "/proc", "/sys", "dev/", "proc/", "sys/"}) {
    if (text.find(danger) != std::string_view::npos) return true;
  }
  return false;
}

template <typename T>
void check_rejection(const Result<T>& r) {
  CONFIG_FUZZ_CHECK(!r.ok());
  // Every problem is a sentence: no empty lines (udp-fanout's problems start with their key,
  // bng's and nexus's follow a "<file>: N problem(s):" line, toml++'s carry file:line:col).
  const std::string& text = r.error().context;
  CONFIG_FUZZ_CHECK(!text.empty());
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string_view line(text.data() + start, end - start);
    CONFIG_FUZZ_CHECK(line.find_first_not_of(" \t") != std::string_view::npos);
    start = end + 1;
  }
}

// Parses twice: both fail with the same message, or both succeed with equal configs.
template <typename Parse, typename Same, typename Revalidate>
void check_parser(Parse parse, std::string_view text, std::string_view source, Same same,
                  Revalidate revalidate) {
  auto first = parse(text, source);
  auto second = parse(text, source);
  CONFIG_FUZZ_CHECK(first.ok() == second.ok());
  if (!first) {
    check_rejection(first);
    CONFIG_FUZZ_CHECK(first.error().context == second.error().context);
    return;
  }
  CONFIG_FUZZ_CHECK(same(*first, *second));
  revalidate(*first);
}

bool same_bng(const bngd::Config& a, const bngd::Config& b) {
  return a.olt == b.olt && a.interfaces == b.interfaces && a.nexus == b.nexus &&
         a.radius == b.radius && a.dhcp == b.dhcp && a.pools == b.pools && a.bgp == b.bgp &&
         a.metrics == b.metrics && a.api == b.api && a.fastpath == b.fastpath &&
         a.storage == b.storage && a.log == b.log;
}

void revalidate_bng(const bngd::Config& c) {
  CONFIG_FUZZ_CHECK(bng::pool::pool_problems(c.pools).empty());
  CONFIG_FUZZ_CHECK(!c.interfaces.subscriber.empty());
  CONFIG_FUZZ_CHECK(c.dhcp.server_id.has_value());
  CONFIG_FUZZ_CHECK(c.pools.empty() || !c.dhcp.pool_id.empty());
  CONFIG_FUZZ_CHECK(c.dhcp.renewal_time < c.dhcp.rebinding_time);
  CONFIG_FUZZ_CHECK(c.dhcp.rebinding_time < c.dhcp.lease_time);
  if (c.radius) CONFIG_FUZZ_CHECK(!c.radius->servers.empty());
}

// What nexus.toml says, as one string (its structs have no operator==).
std::string describe_nexus(const nexusd::Config& c) {
  std::string s = c.server.bind + '|' + std::to_string(c.server.http_port) + '|' +
                  std::to_string(c.server.metrics_port) + '|' + c.server.token + '|' +
                  std::to_string(c.server.threads) + '|' + c.node.id + '|' + c.node.role + '|' +
                  c.node.region + '|' + c.p2p.bind + '|' + std::to_string(c.p2p.listen_port) +
                  '|' + c.p2p.dns + '|' + c.p2p.secret + '|' + c.p2p.cert_file + '|' +
                  c.p2p.key_file + '|' + c.p2p.ca_file + '|' +
                  std::to_string(c.p2p.connect_timeout.count()) + '|' +
                  std::to_string(c.p2p.io_timeout.count()) + '|' +
                  std::to_string(c.p2p.initial_sync_timeout.count()) + '|' + c.storage.path +
                  '|' + c.clset.topic + '|' + std::to_string(c.clset.rebroadcast_interval.count()) +
                  '|' + std::to_string(c.clset.num_workers) + '|' +
                  std::to_string(c.graceful_shutdown.timeout.count()) + '|' +
                  std::to_string(c.graceful_shutdown.grace_period.count()) + '|' +
                  std::to_string(c.housekeeping.interval.count()) + '|' +
                  std::to_string(c.housekeeping.node_stale_after.count()) + '|' +
                  std::to_string(c.housekeeping.node_expire_after.count()) + '|' + c.log.format +
                  '|' + c.log.level;
  for (const auto& o : c.node.pool_owners) s += "|owner:" + o;
  for (const auto& p : c.p2p.peers) s += "|peer:" + p;
  return s;
}

void revalidate_nexus(const nexusd::Config& c) {
  // The replication options derived from a valid config are usable as they are.
  if (c.replication_enabled()) (void)c.replication();
  CONFIG_FUZZ_CHECK(c.server.threads > 0);
}

std::string describe_fanout(const fanoutd::Config& c) {
  std::string s = std::to_string(c.fanout.health.interval.count()) + '|' +
                  std::to_string(c.fanout.health.timeout.count()) + '|' + c.fanout.tc.pin_path +
                  '|' + c.metrics.bind_address + '|' + std::to_string(c.metrics.port) + '|' +
                  c.metrics.path + '|' + c.log.format + '|' + c.log.level;
  for (const auto& l : c.fanout.listeners) {
    s += "|listener:" + l.name + '@' + l.bind.to_string() + '/' + l.interface + '/' +
         std::string(fanout::to_string(l.mode)) + '/' + std::string(fanout::to_string(l.policy)) +
         '/' + std::string(fanout::to_string(l.balance));
    for (const auto& d : l.downstreams) s += ">" + d.name + '@' + d.address.to_string();
    if (l.kubernetes) s += "|k8s:" + l.kubernetes->service;
  }
  return s;
}

void revalidate_fanout(const fanoutd::Config& c) {
  CONFIG_FUZZ_CHECK(fanout::config_problems(c.fanout).empty());
}

}  // namespace

int config_parse_one(const std::uint8_t* data, std::size_t size) {
  // The ${ENV} names the shipped configs use (deploy/*/configmap.yaml), so they parse here too.
  static const bool env_set = [] {
    ::setenv("POD_NAME", "nexus-0", 0);
    ::setenv("NODE_INTERFACE", "eth0", 0);
    ::setenv("FANOUT_TEST_COLLECTOR", "127.0.0.1:9999", 0);
    return true;
  }();
  (void)env_set;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (reads_special_files(text)) return 0;
  check_parser(&bngd::parse_config, text, "bng.toml", &same_bng, &revalidate_bng);
  check_parser(
      &nexusd::parse_config, text, "nexus.toml",
      [](const auto& a, const auto& b) { return describe_nexus(a) == describe_nexus(b); },
      &revalidate_nexus);
  check_parser(
      &fanoutd::parse_config, text, "fanout.toml",
      [](const auto& a, const auto& b) { return describe_fanout(a) == describe_fanout(b); },
      &revalidate_fanout);
  return 0;
}

}  // namespace bngkit::fuzz

#ifndef BNGKIT_FUZZ_IN_GTEST
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return bngkit::fuzz::config_parse_one(data, size);
}
#endif
