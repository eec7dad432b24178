// Fanout: engines per listener, downstream sources merged, health applied, sets pushed.
#include <bngkit/fanout/engine.hpp>
#include <bngkit/fanout/fanout.hpp>
#include <bngkit/fanout/selector.hpp>

#include <arpa/inet.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>

#include "tc_engine.hpp"

namespace bngkit::fanout {

namespace {

struct ListenerState {
  ListenerConfig config;
  std::unique_ptr<Engine> engine;
  std::string fallback_reason;
  std::map<std::string, std::vector<Downstream>, std::less<>> sources;
  // Union of the sources, sorted by address; an address in two sources counts once
  // (the first source by name wins).
  std::vector<std::pair<Downstream, std::string>> merged;
  std::vector<Endpoint> published;  // what the engine has now
};

}  // namespace

struct Fanout::Impl {
  FanoutConfig config;
  mutable std::mutex mutex;
  std::vector<ListenerState> listeners;
  std::unique_ptr<HealthProber> prober;
  std::shared_ptr<TcDataplane> tc;  // loaded when a listener asks for tc_ebpf
  std::map<std::string, std::unique_ptr<EndpointSliceWatcher>> watchers;  // by listener
  bool started = false;

  [[nodiscard]] Health health_of(const Endpoint& e) const {
    return prober ? prober->health(e) : Health::unknown;
  }
  void merge(ListenerState& l);
  void publish(ListenerState& l);
  void update_probe_targets();
  void on_health_change(const Endpoint& target, Health now);
};

void Fanout::Impl::merge(ListenerState& l) {
  std::map<Endpoint, std::pair<Downstream, std::string>> by_address;
  for (const auto& [source, list] : l.sources) {
    for (const auto& d : list) by_address.try_emplace(d.address, d, source);
  }
  l.merged.clear();
  for (auto& [addr, entry] : by_address) l.merged.push_back(std::move(entry));
}

// Pushes the healthy part of the merged set to the engine when it changed.
void Fanout::Impl::publish(ListenerState& l) {
  if (!l.engine) return;
  const std::size_t limit =
      l.engine->mode() == Mode::tc_ebpf ? kMaxDownstreamsTc : kMaxDownstreamsUserspace;
  std::vector<Endpoint> active;
  for (const auto& [d, source] : l.merged) {
    if (health_of(d.address) == Health::unhealthy) continue;
    if (active.size() == limit) {
      spdlog::error("listener {}: more than {} healthy downstreams; {} and later are left out",
                    l.config.name, limit, d.address.to_string());
      break;
    }
    active.push_back(d.address);
  }
  if (active == l.published) return;
  if (auto r = l.engine->set_downstreams(active); !r) {
    spdlog::error("listener {}: updating downstreams: {}", l.config.name, r.error().message());
    return;
  }
  spdlog::info("listener {}: delivering to {} of {} downstream(s)", l.config.name, active.size(),
               l.merged.size());
  l.published = std::move(active);
}

void Fanout::Impl::update_probe_targets() {
  if (!prober) return;
  std::set<Endpoint> all;
  for (const auto& l : listeners) {
    for (const auto& [ds, source] : l.merged) all.insert(ds.address);
  }
  prober->set_targets({all.begin(), all.end()});
}

void Fanout::Impl::on_health_change(const Endpoint& target, Health now) {
  std::lock_guard lock(mutex);
  for (auto& l : listeners) {
    auto it = std::find_if(l.merged.begin(), l.merged.end(),
                           [&](const auto& entry) { return entry.first.address == target; });
    if (it == l.merged.end()) continue;
    const std::string& name = it->first.name;
    if (now == Health::unhealthy) {
      std::string why;
      for (const auto& s : prober->status()) {
        if (s.target == target) why = s.last_error;
      }
      spdlog::warn("listener {}: downstream {} ({}) is unhealthy: {}", l.config.name, name,
                   target.to_string(), why);
    } else {
      spdlog::info("listener {}: downstream {} ({}) is {}", l.config.name, name, target.to_string(),
                   to_string(now));
    }
    publish(l);
  }
}

Fanout::Fanout(FanoutConfig config) : impl_(std::make_unique<Impl>()) {
  impl_->config = std::move(config);
  for (const auto& lc : impl_->config.listeners) {
    ListenerState l;
    l.config = lc;
    l.sources[std::string(kSourceStatic)] = lc.downstreams;
    impl_->merge(l);
    impl_->listeners.push_back(std::move(l));
  }
}

Fanout::~Fanout() { stop(); }

const FanoutConfig& Fanout::config() const noexcept { return impl_->config; }

Result<void> Fanout::start() {
  auto& d = *impl_;
  std::unique_lock lock(d.mutex);
  if (d.started) return ok();
  if (auto problems = config_problems(d.config); !problems.empty()) {
    return make_error(std::errc::invalid_argument, "invalid fanout config: " + problems.front());
  }

  if (d.config.health.enabled) {
    d.prober = std::make_unique<HealthProber>(
        d.config.health, [&d](const Endpoint& e, Health h) { d.on_health_change(e, h); });
    if (auto r = d.prober->start(); !r) {
      d.prober.reset();
      return Error{r.error().code, "health probes (" +
                                       std::string(to_string(d.config.health.protocol)) +
                                       "): " + r.error().message()};
    }
  }

  std::string tc_unavailable;
  const bool want_tc = std::any_of(d.listeners.begin(), d.listeners.end(),
                                   [](const auto& l) { return l.config.mode == Mode::tc_ebpf; });
  if (want_tc) {
    auto dp = TcDataplane::open(d.config.tc);
    if (dp) {
      d.tc = std::move(dp).value();
    } else {
      tc_unavailable = "loading the TC program: " + dp.error().message();
    }
  }
  std::vector<fanout_listener_key> tc_keys;
  for (std::size_t index = 0; index < d.listeners.size(); ++index) {
    auto& l = d.listeners[index];
    if (l.config.mode == Mode::tc_ebpf) {
      auto tc = d.tc ? make_tc_engine(l.config, static_cast<std::uint32_t>(index), d.tc)
                     : Result<std::unique_ptr<Engine>>(Error{{}, tc_unavailable});
      if (tc) {
        l.engine = std::move(tc).value();
        if (auto r = l.engine->start(); !r) {
          l.fallback_reason = r.error().message();
          l.engine.reset();
        }
      } else {
        l.fallback_reason = tc.error().message();
      }
      if (l.engine) {
        tc_keys.push_back({l.config.bind.address_be, htons(l.config.bind.port), 0});
      } else {
        spdlog::warn("listener {}: TC eBPF engine unavailable, falling back to userspace: {}",
                     l.config.name, l.fallback_reason);
      }
    }
    if (!l.engine) {
      l.engine = make_userspace_engine(l.config);
      if (auto r = l.engine->start(); !r) {
        l.engine.reset();
        lock.unlock();
        stop();
        return Error{r.error().code, "listener " + l.config.name + ": " + r.error().message()};
      }
    }
    d.publish(l);
  }
  // Entries of listeners an earlier run had and this config does not.
  if (d.tc) d.tc->prune_listeners(tc_keys);
  d.update_probe_targets();
  d.started = true;

  // Discovery last: its callback takes the lock, so start the watchers without it.
  std::vector<EndpointSliceWatcher*> to_start;
  for (const auto& l : d.listeners) {
    if (!l.config.kubernetes) continue;
    const std::string name = l.config.name;
    auto w = std::make_unique<EndpointSliceWatcher>(
        d.config.kubernetes, *l.config.kubernetes, [this, name](std::vector<Downstream> found) {
          if (auto r = set_downstreams(name, kSourceKubernetes, std::move(found)); !r) {
            spdlog::error("listener {}: {}", name, r.error().message());
          }
        });
    to_start.push_back(w.get());
    d.watchers[name] = std::move(w);
  }
  lock.unlock();
  for (auto* w : to_start) {
    if (auto r = w->start(); !r) {
      stop();
      return Error{r.error().code, "Kubernetes discovery: " + r.error().message()};
    }
  }
  return ok();
}

void Fanout::stop() noexcept {
  auto& d = *impl_;
  // Discovery and the prober first and without the lock: their callbacks take it.
  for (auto& [name, w] : d.watchers) w->stop();
  if (d.prober) d.prober->stop();
  std::lock_guard lock(d.mutex);
  for (auto& l : d.listeners) {
    if (l.engine) l.engine->stop();
  }
  d.started = false;
}

Result<void> Fanout::set_downstreams(std::string_view listener, std::string_view source,
                                     std::vector<Downstream> downstreams) {
  auto& d = *impl_;
  std::lock_guard lock(d.mutex);
  auto it = std::find_if(d.listeners.begin(), d.listeners.end(),
                         [&](const ListenerState& l) { return l.config.name == listener; });
  if (it == d.listeners.end()) {
    return make_error(std::errc::invalid_argument, "no listener named " + std::string(listener));
  }
  it->sources[std::string(source)] = std::move(downstreams);
  d.merge(*it);
  if (d.started) {
    d.update_probe_targets();
    d.publish(*it);
  }
  return ok();
}

std::vector<ListenerStatus> Fanout::status() const {
  const auto& d = *impl_;
  std::lock_guard lock(d.mutex);
  std::vector<ListenerStatus> out;
  for (const auto& l : d.listeners) {
    ListenerStatus s;
    s.name = l.config.name;
    s.configured_mode = l.config.mode;
    s.mode = l.engine ? l.engine->mode() : l.config.mode;
    s.fallback_reason = l.fallback_reason;
    s.policy = l.config.policy;
    s.running = l.engine && l.engine->running();
    if (l.engine) s.stats = l.engine->stats();
    for (const auto& [ds, source] : l.merged) {
      DownstreamStatus st;
      st.name = ds.name;
      st.address = ds.address;
      st.source = source;
      st.health = d.health_of(ds.address);
      st.active =
          std::find(l.published.begin(), l.published.end(), ds.address) != l.published.end();
      s.downstreams.push_back(std::move(st));
    }
    s.active_downstreams = l.published.size();
    if (auto w = d.watchers.find(l.config.name); w != d.watchers.end()) {
      s.discovery = w->second->status();
    }
    out.push_back(std::move(s));
  }
  return out;
}

bool Fanout::live(std::string* why) const {
  const auto& d = *impl_;
  std::lock_guard lock(d.mutex);
  auto fail = [&](std::string reason) {
    if (why) *why = std::move(reason);
    return false;
  };
  if (!d.started) return fail("not started");
  if (d.prober && !d.prober->running()) return fail("the health probe thread stopped");
  for (const auto& [name, w] : d.watchers) {
    if (!w->running()) return fail("listener " + name + ": the discovery thread stopped");
  }
  for (const auto& l : d.listeners) {
    if (!l.engine || !l.engine->running()) {
      return fail("listener " + l.config.name + ": engine not running");
    }
  }
  return true;
}

bool Fanout::ready(std::string* why) const {
  if (!live(why)) return false;
  const auto& d = *impl_;
  std::lock_guard lock(d.mutex);
  for (const auto& [name, w] : d.watchers) {
    if (const auto st = w->status(); !st.synced) {
      if (why)
        *why = "listener " + name + ": EndpointSlices not listed yet (" + st.last_error + ")";
      return false;
    }
  }
  for (const auto& l : d.listeners) {
    if (l.published.empty()) {
      if (why) *why = "listener " + l.config.name + ": no healthy downstream";
      return false;
    }
  }
  return true;
}

}  // namespace bngkit::fanout
