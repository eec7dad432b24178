// Names of the config enums and the checks every FanoutConfig must pass.
#include <bngkit/fanout/config.hpp>
#include <bngkit/fanout/selector.hpp>
#include <bngkit/fanout/stats.hpp>

#include <algorithm>
#include <set>

namespace bngkit::fanout {

namespace {

template <typename E, std::size_t N>
std::optional<E> parse_name(std::string_view s, const std::pair<E, std::string_view> (&names)[N]) {
  for (const auto& [value, name] : names) {
    if (name == s) return value;
  }
  return std::nullopt;
}

template <typename E, std::size_t N>
std::string_view name_of(E e, const std::pair<E, std::string_view> (&names)[N]) {
  for (const auto& [value, name] : names) {
    if (value == e) return name;
  }
  return "unknown";
}

constexpr std::pair<Mode, std::string_view> kModes[] = {{Mode::userspace, "userspace"},
                                                        {Mode::tc_ebpf, "tc_ebpf"}};
constexpr std::pair<Policy, std::string_view> kPolicies[] = {{Policy::replicate, "replicate"},
                                                             {Policy::balance, "balance"}};
constexpr std::pair<BalanceMethod, std::string_view> kBalance[] = {
    {BalanceMethod::round_robin, "round_robin"}, {BalanceMethod::flow_hash, "flow_hash"}};
constexpr std::pair<ProbeProtocol, std::string_view> kProbes[] = {
    {ProbeProtocol::icmp, "icmp"}, {ProbeProtocol::udp_echo, "udp_echo"}};
constexpr std::pair<DropReason, std::string_view> kDrops[] = {
    {DropReason::no_downstream, "no_downstream"},
    {DropReason::receive_queue_full, "receive_queue_full"},
    {DropReason::truncated, "truncated"},
    {DropReason::too_big, "too_big"},
    {DropReason::send_error, "send_error"},
    {DropReason::no_route, "no_route"},
    {DropReason::redirect_failed, "redirect_failed"},
    {DropReason::malformed, "malformed"}};
static_assert(std::size(kDrops) == kDropReasonCount);

}  // namespace

std::string_view to_string(Mode m) noexcept { return name_of(m, kModes); }
std::string_view to_string(Policy p) noexcept { return name_of(p, kPolicies); }
std::string_view to_string(BalanceMethod b) noexcept { return name_of(b, kBalance); }
std::string_view to_string(ProbeProtocol p) noexcept { return name_of(p, kProbes); }
std::string_view to_string(DropReason r) noexcept { return name_of(r, kDrops); }
std::optional<Mode> parse_mode(std::string_view s) noexcept { return parse_name(s, kModes); }
std::optional<Policy> parse_policy(std::string_view s) noexcept { return parse_name(s, kPolicies); }
std::optional<BalanceMethod> parse_balance_method(std::string_view s) noexcept {
  return parse_name(s, kBalance);
}
std::optional<ProbeProtocol> parse_probe_protocol(std::string_view s) noexcept {
  return parse_name(s, kProbes);
}

std::vector<std::string> config_problems(const FanoutConfig& config) {
  std::vector<std::string> problems;
  std::set<std::string> names;
  std::set<Endpoint> binds;
  for (const auto& l : config.listeners) {
    const std::string who = "listener \"" + l.name + "\"";
    if (l.name.empty()) problems.push_back("a listener has no name");
    if (!names.insert(l.name).second) problems.push_back(who + ": name used twice");
    if (l.bind.port == 0) problems.push_back(who + ": bind needs a port");
    if (!binds.insert(l.bind).second) {
      problems.push_back(who + ": bind " + l.bind.to_string() + " used by another listener");
    }
    if (l.mode == Mode::tc_ebpf && l.interface.empty()) {
      problems.push_back(who + ": mode tc_ebpf needs an interface to attach to");
    }
    if (l.downstreams.empty() && !l.kubernetes) {
      problems.push_back(who +
                         ": needs [[listeners.downstream]] entries or [listeners.kubernetes]");
    }
    std::set<Endpoint> seen;
    for (const auto& d : l.downstreams) {
      if (!seen.insert(d.address).second) {
        problems.push_back(who + ": downstream " + d.address.to_string() + " listed twice");
      }
      if (d.address == l.bind) {
        problems.push_back(who + ": downstream " + d.address.to_string() +
                           " is the listener itself (a loop)");
      }
      if (d.address.address_be == 0 || d.address.port == 0) {
        problems.push_back(who + ": downstream \"" + d.name + "\" needs an address and a port");
      }
    }
    const std::size_t limit =
        l.mode == Mode::tc_ebpf ? kMaxDownstreamsTc : kMaxDownstreamsUserspace;
    if (l.downstreams.size() > limit) {
      problems.push_back(who + ": " + std::to_string(l.downstreams.size()) +
                         " static downstreams, mode " + std::string(to_string(l.mode)) +
                         " takes at most " + std::to_string(limit));
    }
    if (l.kubernetes) {
      if (l.kubernetes->service.empty()) problems.push_back(who + ": kubernetes.service is empty");
      if (l.kubernetes->port == 0 && l.kubernetes->port_name.empty()) {
        problems.push_back(who + ": kubernetes needs port or port_name");
      }
    }
    const auto& s = l.settings;
    if (s.batch_size < 1 || s.batch_size > 1024)
      problems.push_back(who + ": batch_size must be 1-1024");
    if (s.workers < 1 || s.workers > 256) problems.push_back(who + ": workers must be 1-256");
    if (s.max_datagram_size < 1 || s.max_datagram_size > 65535) {
      problems.push_back(who + ": max_datagram_size must be 1-65535");
    }
  }
  const auto tc_listeners = std::count_if(config.listeners.begin(), config.listeners.end(),
                                          [](const auto& l) { return l.mode == Mode::tc_ebpf; });
  if (config.listeners.size() > kMaxListenersTc && tc_listeners > 0) {
    problems.push_back("the TC engine serves at most " + std::to_string(kMaxListenersTc) +
                       " listeners in one config");
  }
  const auto& h = config.health;
  if (h.enabled) {
    if (h.interval.count() <= 0) problems.push_back("health.interval must be positive");
    if (h.timeout.count() <= 0) problems.push_back("health.timeout must be positive");
    if (h.timeout > h.interval) {
      problems.push_back("health.timeout must not exceed health.interval (one probe in flight)");
    }
    if (h.failure_threshold < 1) problems.push_back("health.failure_threshold must be at least 1");
    if (h.recovery_threshold < 1)
      problems.push_back("health.recovery_threshold must be at least 1");
  }
  return problems;
}

}  // namespace bngkit::fanout
