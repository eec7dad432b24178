// NexusNode: the glue between the gateway's admission hook and the asynchronous Nexus client.
#include "nexus.hpp"

#include <bngkit/ops/metrics.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace bngkit::bngd {

namespace asio = boost::asio;
using bng::slowpath::Admission;
using bng::slowpath::AdmissionHook;
using bng::slowpath::AdmissionRequest;

AdmissionHook chain_admission(AdmissionHook first, AdmissionHook second) {
  if (!first) return second;
  if (!second) return first;
  return [first = std::move(first), second = std::move(second)](const AdmissionRequest& r) {
    auto a = first(r);
    if (a.verdict != Admission::Verdict::accept) return a;
    const std::string pool = a.pool_id.empty() ? std::string(r.pool_id) : a.pool_id;
    auto b = second(AdmissionRequest{r.message, r.subscriber, pool});
    return b.verdict == Admission::Verdict::accept ? a : b;
  };
}

bng::pool::PoolParameters served_pool(const bng::nexus::Pool& p, const DhcpConfig& dhcp) {
  bng::pool::PoolParameters out;
  out.pool_id = p.id;
  out.network = p.network;
  out.gateway = p.gateway;
  out.dns = p.dns;
  out.lease_time = dhcp.lease_time;
  out.renewal_time = dhcp.renewal_time;
  out.rebinding_time = dhcp.rebinding_time;
  return out;
}

NexusNode::NexusNode(asio::io_context& io, const Config& c) : io_(io), config_(c), timer_(io) {}

NexusNode::~NexusNode() { stop(); }

Result<std::unique_ptr<NexusNode>> NexusNode::create(asio::io_context& io, const Config& c) {
  const auto& nx = *c.nexus;
  std::unique_ptr<NexusNode> node(new NexusNode(io, c));
  auto client = bng::nexus::NexusClient::create(io, {nx.endpoints, nx.token, nx.timeout});
  if (!client) return client.error();
  node->client_ = std::move(client).value();

  // The pools, before the gateway exists: nothing else runs on `io` yet.
  std::optional<Result<std::vector<bng::nexus::Pool>>> listed;
  node->client_->list_pools([&listed](Result<std::vector<bng::nexus::Pool>> r) { listed = std::move(r); });
  while (!listed && io.run_one() > 0) {
  }
  io.restart();
  if (!listed) return make_error(std::errc::operation_canceled, "nexus: listing pools did not complete");

  std::vector<std::string> wanted{c.dhcp.pool_id};
  for (const auto& p : c.pools)
    if (p.id != c.dhcp.pool_id) wanted.push_back(p.id);
  std::vector<bng::pool::PoolParameters> pools;
  if (*listed) {
    for (const auto& id : wanted) {
      auto it = std::find_if(listed->value().begin(), listed->value().end(), [&](const auto& p) { return p.id == id; });
      if (it != listed->value().end()) pools.push_back(served_pool(*it, c.dhcp));
      else if (id == c.dhcp.pool_id) {
        return make_error(std::errc::invalid_argument, "nexus: pool \"" + id +
                                                           "\" (dhcp.pool_id) does not exist in Nexus; create it there "
                                                           "(POST /api/v1/pools)");
      } else {
        spdlog::warn("nexus: [[pools]] \"{}\" does not exist in Nexus; not served", id);
      }
    }
  } else {
    // No Nexus now: the local definitions of the same pools let stored leases keep being served.
    for (const auto& p : c.pools) {
      bng::nexus::Pool np{p.id, p.network.normalized(), p.gateway, p.dns, {}};
      pools.push_back(served_pool(np, c.dhcp));
    }
    const bool have_default = std::any_of(pools.begin(), pools.end(), [&](const auto& p) { return p.pool_id == c.dhcp.pool_id; });
    if (!have_default) {
      return make_error(std::errc::host_unreachable, "nexus: cannot learn pool \"" + c.dhcp.pool_id +
                                                         "\": " + listed->error().message());
    }
    spdlog::warn("nexus: {}; network, gateway and DNS of pool {} come from its [[pools]] entry until the next "
                 "restart (addresses still come from Nexus)",
                 listed->error().message(), c.dhcp.pool_id);
  }

  bng::nexus::NexusAllocatorOptions ao;
  ao.pools = std::move(pools);
  std::weak_ptr<bool> alive = node->alive_;
  auto* raw = node.get();
  ao.released = [raw, alive, &io](const bng::nexus::CachedAllocation& a) {
    // Posted: release() may run under the gateway's lock; the client wants the io thread.
    asio::post(io, [raw, alive, a] {
      if (alive.lock()) raw->release(a, std::chrono::seconds(1));
    });
  };
  auto allocator = bng::nexus::NexusAllocator::create(std::move(ao));
  if (!allocator) return allocator.error();
  node->owned_ = std::move(allocator).value();
  node->allocator_ = node->owned_.get();
  return node;
}

std::unique_ptr<bng::pool::AddressAllocator> NexusNode::take_allocator() { return std::move(owned_); }

void NexusNode::attach(bng::Gateway& gateway) {
  gateway_ = &gateway;
  gateway.set_admission(chain_admission(gateway.admission(), [this](const AdmissionRequest& r) { return admit(r); }));
  tick();
}

Admission NexusNode::admit(const AdmissionRequest& r) {
  Key key{r.subscriber, std::string(r.pool_id)};
  if (allocator_->lookup(r.subscriber, r.pool_id)) return {};  // granted before: serve from the cache
  Admission pending{Admission::Verdict::pending, {}, {}, {}};
  if (allocator_->releasing(r.subscriber, r.pool_id)) {
    pending.reason = "releasing its previous Nexus allocation first";
  } else if (asking_.count(key)) {
    pending.reason = "waiting for Nexus";
  } else {
    ask(key);
    pending.reason = "asking Nexus for an address";
  }
  return pending;
}

void NexusNode::ask(const Key& key) {
  asking_.insert(key);
  std::weak_ptr<bool> alive = alive_;
  client_->allocate(key.second, key.first.to_string(), config_.dhcp.lease_time,
                    [this, alive, key](Result<bng::nexus::Allocation> a) {
                      if (!alive.lock()) return;
                      asking_.erase(key);
                      if (!a) {
                        spdlog::warn("nexus: no address for {}: {}", key.first.to_string(), a.error().message());
                        return;  // the request stays held; the client's retransmission asks again
                      }
                      if (auto r = allocator_->learn({key.first, key.second, a->address, a->expires_at}); !r) {
                        ++conflicts_;
                        spdlog::error("nexus: granted {} to {} but {}", a->address.to_string(), key.first.to_string(),
                                      r.error().message());
                        return;
                      }
                      if (gateway_) gateway_->readmit(key.first);
                    });
}

void NexusNode::release(const bng::nexus::CachedAllocation& a, std::chrono::seconds backoff) {
  std::weak_ptr<bool> alive = alive_;
  client_->release(a.pool_id, a.subscriber.to_string(), [this, alive, a, backoff](Result<void> r) {
    if (!alive.lock()) return;
    if (r) {
      allocator_->release_done(a);
      spdlog::debug("nexus: released {} of {}", a.address.to_string(), a.subscriber.to_string());
      // A request held meanwhile ("releasing its previous Nexus allocation first") goes on now.
      if (gateway_) gateway_->readmit(a.subscriber);
      return;
    }
    // Retried until Nexus takes it: a grant left behind would hold the address until its TTL.
    spdlog::warn("nexus: {} (retrying in {}s)", r.error().message(), backoff.count());
    auto timer = std::make_shared<asio::steady_timer>(io_, backoff);
    timer->async_wait([this, alive, a, timer, backoff](boost::system::error_code ec) {
      if (ec || !alive.lock()) return;
      release(a, std::min(backoff * 2, std::chrono::seconds(60)));
    });
  });
}

void NexusNode::tick() {
  std::weak_ptr<bool> alive = alive_;
  const auto& c = config_;
  client_->register_node(c.olt.id, c.api.bind + ":" + std::to_string(c.api.port), c.olt.region,
                         [alive](Result<void> r) {
                           if (alive.lock() && !r) spdlog::warn("nexus: heartbeat: {}", r.error().message());
                         });
  // Grants past half their TTL are renewed; restored ones (epoch expiry) are confirmed now.
  // Not while Nexus is unreachable (every grant would fail and log): the heartbeat probes,
  // and the first tick after it answers catches up (Nexus renews expired, unreclaimed grants).
  const auto now = bng::pool::system_now();
  const bool up = client_->stats().up;
  const auto half = std::chrono::duration_cast<std::chrono::seconds>(c.dhcp.lease_time) / 2;
  for (const auto& a : allocator_->cached()) {
    if (up && a.expires_at - now < half) renew(a);
  }
  timer_.expires_after(c.nexus->heartbeat_interval);
  timer_.async_wait([this, alive](boost::system::error_code ec) {
    if (!ec && alive.lock()) tick();
  });
}

void NexusNode::renew(const bng::nexus::CachedAllocation& a) {
  Key key{a.subscriber, a.pool_id};
  if (!renewing_.insert(key).second) return;
  std::weak_ptr<bool> alive = alive_;
  // False once the subscriber gave the grant back here (release, decline, expiry) while the
  // renewal was under way: its answer is stale and must not bring the grant back (refresh()
  // refuses that even when the release comes between this check and the answer).
  auto still_held = [this, a] {
    const auto held = allocator_->lookup(a.subscriber, a.pool_id);
    return held && held->address == a.address;
  };
  auto learned = [this, a, still_held](const Result<bng::nexus::Allocation>& r) {
    if (!r) return false;
    if (!still_held()) return true;
    if (r->address != a.address) {
      // Nexus gave the subscriber another address (its grant was reclaimed during an outage):
      // the lease keeps the old one until it ends, then the subscriber gets Nexus's.
      ++conflicts_;
      spdlog::error("nexus: {} uses {} here but Nexus grants it {}", a.subscriber.to_string(), a.address.to_string(),
                    r->address.to_string());
      return true;
    }
    auto updated = a;
    updated.expires_at = r->expires_at;
    if (!allocator_->refresh(updated)) {
      spdlog::debug("nexus: {} gave {} back while it was renewed", a.subscriber.to_string(), a.address.to_string());
    }
    return true;
  };
  client_->renew(a.pool_id, a.subscriber.to_string(), config_.dhcp.lease_time,
                 [this, alive, a, key, learned, still_held](Result<bng::nexus::Allocation> r) {
                   if (!alive.lock()) return;
                   if (!still_held()) {  // given back meanwhile: nothing to renew or to ask again
                     renewing_.erase(key);
                     return;
                   }
                   if (r || r.error().code != make_error_code(bng::nexus::NexusError::not_found)) {
                     renewing_.erase(key);
                     if (!learned(r)) spdlog::warn("nexus: {}", r.error().message());
                     return;
                   }
                   // Not in Nexus (reclaimed, or restored from our lease DB): ask for it again;
                   // stickiness gives the same address back unless someone else took it. (Given
                   // back while this is under way, the release may reach Nexus first: what this
                   // re-creates there then expires unrenewed.)
                   client_->allocate(a.pool_id, a.subscriber.to_string(), config_.dhcp.lease_time,
                                     [this, alive, key, learned](Result<bng::nexus::Allocation> r2) {
                                       if (!alive.lock()) return;
                                       renewing_.erase(key);
                                       if (!learned(r2)) spdlog::warn("nexus: {}", r2.error().message());
                                     });
                 });
}

void NexusNode::add_health(ops::HealthChecks& health) {
  health.add(ops::HealthChecks::Kind::readiness, "nexus", [this] {
    const auto s = client_->stats();
    return s.up ? ops::CheckResult{true, "Nexus reachable at " + s.endpoint}
                : ops::CheckResult{false, "no Nexus endpoint reachable"};
  });
}

void NexusNode::register_metrics(prometheus::Registry& r) {
  requests_ = &prometheus::BuildCounter()
                   .Name("bng_nexus_requests_total")
                   .Help("Requests to Nexus, by result (ok, http_error, unreachable)")
                   .Register(r);
  up_ = &prometheus::BuildGauge().Name("bng_nexus_up").Help("1 while the latest Nexus request reached an endpoint").Register(r);
  grants_ = &prometheus::BuildGauge().Name("bng_nexus_allocations").Help("Nexus grants cached on this node").Register(r);
  pending_releases_ = &prometheus::BuildGauge()
                           .Name("bng_nexus_releases_pending")
                           .Help("Released addresses not yet acknowledged by Nexus (retried)")
                           .Register(r);
  conflicts_metric_ = &prometheus::BuildCounter()
                           .Name("bng_nexus_conflicts_total")
                           .Help("Nexus answers naming another address than the one in use here")
                           .Register(r);
}

void NexusNode::update_metrics() {
  if (!requests_) return;
  const auto s = client_->stats();
  ops::sync_counter(requests_->Add({{"result", "ok"}}), static_cast<double>(s.requests_ok));
  ops::sync_counter(requests_->Add({{"result", "http_error"}}), static_cast<double>(s.requests_http_error));
  ops::sync_counter(requests_->Add({{"result", "unreachable"}}), static_cast<double>(s.requests_unreachable));
  up_->Add({}).Set(s.up ? 1 : 0);
  grants_->Add({}).Set(static_cast<double>(allocator_->cached().size()));
  pending_releases_->Add({}).Set(static_cast<double>(allocator_->releases_pending()));
  ops::sync_counter(conflicts_metric_->Add({}), static_cast<double>(conflicts_));
}

void NexusNode::stop() {
  *alive_ = false;
  alive_ = std::make_shared<bool>(false);
  timer_.cancel();
  if (client_) client_->stop();
}

}  // namespace bngkit::bngd
