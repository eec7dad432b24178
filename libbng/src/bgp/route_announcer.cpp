// RouteAnnouncer: a worker thread that reconciles FRR bgpd with the desired announcements
// through vtysh (see route_announcer.hpp).
//
// Why `vtysh -c` per command rather than `vtysh -f <file>`: with -c, vtysh stops at the
// first command bgpd rejects and exits non-zero naming it, so a failed `router bgp` can
// never let later lines land in the wrong CLI node, and nothing is half-applied past an
// error. `-f` carries on after errors (exit code 2 at the end) and needs a temporary file.
// Each reconcile reads the running config back before and after applying, so a batch cut
// short is simply finished by the next round. `-d bgpd` talks to bgpd alone: the announcer
// needs nothing from zebra's or staticd's CLI, and a missing bgpd is seen as FRR down.
#include <bngkit/bng/bgp/route_announcer.hpp>

#include "process.hpp"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace bngkit::bng::bgp {

namespace {

// `network` commands per vtysh call: keeps argv far below ARG_MAX with many host routes.
constexpr std::size_t kCommandsPerCall = 512;

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  std::size_t start = 0;
  while (start < s.size() && (s[start] == '\n' || s[start] == ' ')) ++start;
  s.erase(0, start);
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s;
}

}  // namespace

struct RouteAnnouncer::Impl {
  AnnouncerOptions options;

  mutable std::mutex mutex;  // guards everything below up to `worker`
  std::condition_variable wake;
  SpeakerConfig speaker;
  std::vector<Prefix> prefixes;
  bool announcing = true;
  bool dirty = false;  // the desired state changed since the last reconcile began
  bool stopping = false;
  AnnouncerStatus status;
  std::thread worker;

  std::mutex reconcile_mutex;  // one reconcile at a time (worker, reconcile_now, shutdown)

  // Outcome of one vtysh call: bgpd's output, or why not (and whether bgpd answered at all).
  struct CallError {
    bool frr_unreachable = false;
    std::string message;
  };
  struct Call {
    std::string out;
    std::optional<CallError> error;
  };

  Call vtysh(const std::vector<std::string>& commands) const {
    std::vector<std::string> argv{options.vtysh};
    if (!options.vty_socket_dir.empty()) {
      argv.emplace_back("--vty_socket");
      argv.push_back(options.vty_socket_dir);
    }
    argv.emplace_back("-d");
    argv.emplace_back("bgpd");
    for (const auto& c : commands) {
      argv.emplace_back("-c");
      argv.push_back(c);
    }
    auto run = run_process(argv, options.command_timeout);
    if (!run) return {{}, CallError{true, run.error().message()}};
    if (run->exit_code == 0) return {std::move(run->out), std::nullopt};
    auto text = trimmed(run->out + "\n" + run->err);
    // vtysh says this when no daemon socket answers (bgpd not running, wrong vty_socket).
    const bool unreachable = text.find("failed to connect") != std::string::npos ||
                             text.find("is not running") != std::string::npos;
    if (text.empty()) text = "exit code " + std::to_string(run->exit_code);
    return {{}, CallError{unreachable, "vtysh: " + text}};
  }

  // The configuration calls for `plan`: the instance removal, then the router commands
  // with the first chunk of address-family commands, then the remaining chunks.
  std::vector<std::vector<std::string>> calls_for(const ChangePlan& plan, std::uint32_t local_as) const {
    std::vector<std::vector<std::string>> calls;
    if (plan.remove_instance) calls.push_back({"configure terminal", "no router bgp " + std::to_string(*plan.remove_instance)});
    const auto router = "router bgp " + std::to_string(local_as);
    std::size_t next = 0;
    bool first = true;
    while (first || next < plan.ipv4_commands.size()) {
      std::vector<std::string> call{"configure terminal", router};
      if (first) call.insert(call.end(), plan.router_commands.begin(), plan.router_commands.end());
      if (next < plan.ipv4_commands.size()) {
        call.emplace_back("address-family ipv4 unicast");
        const auto end = std::min(plan.ipv4_commands.size(), next + kCommandsPerCall);
        call.insert(call.end(), plan.ipv4_commands.begin() + static_cast<std::ptrdiff_t>(next),
                    plan.ipv4_commands.begin() + static_cast<std::ptrdiff_t>(end));
        next = end;
      }
      if (call.size() > 2) calls.push_back(std::move(call));
      first = false;
    }
    return calls;
  }

  Result<void> reconcile_once() {
    std::lock_guard one_at_a_time(reconcile_mutex);
    SpeakerConfig want_speaker;
    std::vector<Prefix> want_prefixes;
    {
      std::lock_guard lock(mutex);
      want_speaker = speaker;
      if (announcing) want_prefixes = prefixes;
      dirty = false;
    }
    std::uint64_t applied = 0;
    auto finish = [&](std::optional<CallError> error, std::size_t announced, bool in_step,
                      std::vector<PeerStatus> peers) -> Result<void> {
      std::lock_guard lock(mutex);
      ++status.reconciles;
      status.commands_applied += applied;
      status.frr_up = !(error && error->frr_unreachable);
      status.in_step = !error && in_step;
      if (status.frr_up) {
        status.announced_prefixes = announced;
        status.peers = std::move(peers);
      } else {  // bgpd is gone, and with it its sessions and announcements
        status.announced_prefixes = 0;
        status.peers.clear();
      }
      if (!error) {
        status.last_error.clear();
        return ok();
      }
      ++status.reconcile_failures;
      status.last_error = error->message;
      return make_error(error->frr_unreachable ? std::errc::host_unreachable : std::errc::io_error, error->message);
    };

    auto read_config = [&]() -> std::pair<std::optional<FrrBgpConfig>, std::optional<CallError>> {
      auto call = vtysh({"show running-config"});
      if (call.error) return {std::nullopt, call.error};
      auto parsed = parse_running_config(call.out);
      if (!parsed) return {std::nullopt, CallError{false, parsed.error().message()}};
      return {std::move(parsed).value(), std::nullopt};
    };

    auto [actual, read_error] = read_config();
    if (read_error) return finish(read_error, 0, false, {});
    auto plan = plan_changes(want_speaker, want_prefixes, *actual);
    if (!plan.empty()) {
      for (const auto& commands : calls_for(plan, want_speaker.local_as)) {
        auto call = vtysh(commands);
        if (call.error) return finish(call.error, actual->networks.size(), false, {});
        applied += commands.size();
      }
      auto [after, reread_error] = read_config();
      if (reread_error) return finish(reread_error, 0, false, {});
      actual = std::move(after);
    }
    const bool in_step = plan_changes(want_speaker, want_prefixes, *actual).empty();
    auto summary = vtysh({"show bgp summary json"});
    if (summary.error) return finish(summary.error, actual->networks.size(), in_step, {});
    auto peers = parse_bgp_summary(summary.out);
    if (!peers) return finish(CallError{false, peers.error().message()}, actual->networks.size(), in_step, {});
    if (!in_step) {
      return finish(CallError{false, "bgpd did not take every change (still differs after applying)"},
                    actual->networks.size(), false, std::move(peers).value());
    }
    return finish(std::nullopt, actual->networks.size(), true, std::move(peers).value());
  }

  void run_worker() {
    for (;;) {
      (void)reconcile_once();  // failures are in status(); the next round retries
      std::unique_lock lock(mutex);
      wake.wait_for(lock, options.reconcile_interval, [this] { return stopping || dirty; });
      if (stopping) return;
    }
  }

  void stop_worker() {
    {
      std::lock_guard lock(mutex);
      stopping = true;
    }
    wake.notify_all();
    if (worker.joinable()) worker.join();
  }

  void mark_dirty() {
    dirty = true;
    wake.notify_all();
  }
};

RouteAnnouncer::RouteAnnouncer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

RouteAnnouncer::~RouteAnnouncer() { impl_->stop_worker(); }

Result<std::unique_ptr<RouteAnnouncer>> RouteAnnouncer::create(AnnouncerOptions options) {
  if (auto r = validate(options.speaker); !r) return make_error(std::errc::invalid_argument, "bgp: " + r.error().context);
  if (options.vtysh.empty()) return make_error(std::errc::invalid_argument, "bgp: no vtysh binary given");
  if (options.command_timeout.count() <= 0) {
    return make_error(std::errc::invalid_argument, "bgp: the vtysh command timeout must be positive");
  }
  if (options.reconcile_interval.count() <= 0) {
    return make_error(std::errc::invalid_argument, "bgp: the reconcile interval must be positive");
  }
  auto impl = std::make_unique<Impl>();
  impl->speaker = options.speaker;
  impl->options = std::move(options);
  return std::unique_ptr<RouteAnnouncer>(new RouteAnnouncer(std::move(impl)));
}

void RouteAnnouncer::start() {
  std::lock_guard lock(impl_->mutex);
  if (impl_->worker.joinable() || impl_->stopping) return;
  impl_->worker = std::thread([impl = impl_.get()] { impl->run_worker(); });
}

void RouteAnnouncer::set_prefixes(std::vector<Prefix> prefixes) {
  auto next = canonical(std::move(prefixes));
  std::lock_guard lock(impl_->mutex);
  if (next == impl_->prefixes) return;
  impl_->prefixes = std::move(next);
  impl_->mark_dirty();
}

Result<void> RouteAnnouncer::set_speaker(SpeakerConfig speaker) {
  if (auto r = validate(speaker); !r) return make_error(std::errc::invalid_argument, "bgp: " + r.error().context);
  std::lock_guard lock(impl_->mutex);
  if (speaker == impl_->speaker) return ok();
  impl_->speaker = std::move(speaker);
  impl_->mark_dirty();
  return ok();
}

void RouteAnnouncer::set_announcing(bool announcing) {
  std::lock_guard lock(impl_->mutex);
  if (announcing == impl_->announcing) return;
  impl_->announcing = announcing;
  impl_->mark_dirty();
}

Result<void> RouteAnnouncer::reconcile_now() { return impl_->reconcile_once(); }

Result<void> RouteAnnouncer::shutdown() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->announcing = false;
  }
  impl_->stop_worker();
  return impl_->reconcile_once();
}

AnnouncerStatus RouteAnnouncer::status() const {
  std::lock_guard lock(impl_->mutex);
  AnnouncerStatus s = impl_->status;
  s.announcing = impl_->announcing;
  s.desired_prefixes = impl_->announcing ? impl_->prefixes.size() : 0;
  return s;
}

}  // namespace bngkit::bng::bgp
