// The daemon's Nexus side when [nexus] is configured: learns the served pool from Nexus,
// serves DHCP from a NexusAllocator whose cache an admission hook fills asynchronously,
// releases and renews grants in Nexus, heartbeats the node, and reports health and metrics.
#pragma once

#include "config.hpp"

#include <bngkit/bng/gateway.hpp>
#include <bngkit/bng/nexus/nexus_allocator.hpp>
#include <bngkit/bng/nexus/nexus_client.hpp>
#include <bngkit/ops/health.hpp>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <map>
#include <memory>
#include <set>

namespace bngkit::bngd {

/// Asks `second` only when `first` accepts (with the pool `first` chose); the answer is
/// `first`'s accept (its pool and address) unless `second` holds or refuses the request.
/// An empty hook accepts.
[[nodiscard]] bng::slowpath::AdmissionHook chain_admission(bng::slowpath::AdmissionHook first,
                                                           bng::slowpath::AdmissionHook second);

/// Pool parameters DHCP serves for a Nexus pool: its network, gateway and DNS, the lease
/// times of [dhcp].
[[nodiscard]] bng::pool::PoolParameters served_pool(const bng::nexus::Pool& p, const DhcpConfig& dhcp);

class NexusNode {
 public:
  /// Connects the client and learns the served pools (dhcp.pool_id and the [[pools]] ids
  /// Nexus has) before returning, running `io` meanwhile (call before anything else uses it).
  /// Without an answer from Nexus, a [[pools]] entry of the same id stands in for the pool's
  /// network, gateway and DNS until the next restart (a restart during a Nexus outage keeps
  /// serving the stored leases); otherwise start-up fails.
  [[nodiscard]] static Result<std::unique_ptr<NexusNode>> create(boost::asio::io_context& io, const Config& c);
  ~NexusNode();

  /// The allocator for Gateway::create (once).
  [[nodiscard]] std::unique_ptr<bng::pool::AddressAllocator> take_allocator();
  /// Chains the Nexus admission after the gateway's current hook, then heartbeats the node
  /// and renews cached grants every heartbeat_interval. Call before Gateway::start.
  void attach(bng::Gateway& gateway);
  void add_health(ops::HealthChecks& health);
  void register_metrics(prometheus::Registry& registry);
  void update_metrics();
  void stop();

 private:
  NexusNode(boost::asio::io_context& io, const Config& c);
  using Key = std::pair<bng::pool::SubscriberKey, std::string>;
  bng::slowpath::Admission admit(const bng::slowpath::AdmissionRequest& r);
  void ask(const Key& key);
  void release(const bng::nexus::CachedAllocation& a, std::chrono::seconds backoff);
  void tick();
  void renew(const bng::nexus::CachedAllocation& a);

  boost::asio::io_context& io_;
  Config config_;
  std::unique_ptr<bng::nexus::NexusClient> client_;
  std::unique_ptr<bng::nexus::NexusAllocator> owned_;
  bng::nexus::NexusAllocator* allocator_ = nullptr;
  bng::Gateway* gateway_ = nullptr;
  boost::asio::steady_timer timer_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // callbacks check it after stop()
  std::set<Key> asking_, renewing_;  // releases in flight: allocator_->releasing()
  std::uint64_t conflicts_ = 0;  // Nexus answered another address than the one in use here
  prometheus::Family<prometheus::Counter>* requests_ = nullptr;
  prometheus::Family<prometheus::Gauge>* up_ = nullptr;
  prometheus::Family<prometheus::Gauge>* grants_ = nullptr;
  prometheus::Family<prometheus::Gauge>* pending_releases_ = nullptr;
  prometheus::Family<prometheus::Counter>* conflicts_metric_ = nullptr;
};

}  // namespace bngkit::bngd
