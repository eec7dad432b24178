#include "reload.hpp"

namespace bngkit::bngd {

namespace {

// A pool with only what decides address ownership (not what clients are told).
bng::pool::PoolConfig layout_of(bng::pool::PoolConfig p) {
  p.dns.clear();
  p.lease_time = {};
  p.renewal_time = {};
  p.rebinding_time = {};
  p.probation_time = {};
  return p;
}

// [dhcp] without the lease-time defaults (they reach clients through the pools).
DhcpConfig dhcp_identity(DhcpConfig d) {
  d.lease_time = {};
  d.renewal_time = {};
  d.rebinding_time = {};
  return d;
}

// [radius] without what sessions take live (SessionManager::update_options).
std::optional<RadiusConfig> radius_transport(std::optional<RadiusConfig> r) {
  if (r) {
    r->interim_interval = {};
    r->rate_profiles.clear();
    r->username.clear();
    r->password.clear();
    r->accounting_queue_limit = 0;
  }
  return r;
}

// [bgp] without what a reload hands to the running announcer (speaker and host routes).
BgpConfig bgp_process(BgpConfig b) {
  b.local_as = 0;
  b.router_id.clear();
  b.neighbors.clear();
  b.announce_host_routes = false;
  return b;
}

}  // namespace

std::vector<std::string> restart_needed(const Config& running, const Config& next) {
  std::vector<std::string> out;
  auto check = [&out](bool same, const char* section) {
    if (!same) out.emplace_back(section);
  };
  check(running.olt == next.olt, "olt");
  check(running.interfaces == next.interfaces, "interfaces");
  check(running.nexus == next.nexus, "nexus");
  check(radius_transport(running.radius) == radius_transport(next.radius),
        "radius (servers, timeouts, authorize, accounting, NAS identity, dae)");
  check(dhcp_identity(running.dhcp) == dhcp_identity(next.dhcp), "dhcp (pool_id, server_id)");
  check(bgp_process(running.bgp) == bgp_process(next.bgp),
        "bgp (enabled, vtysh, vty_socket, reconcile_interval, command_timeout)");
  check(running.metrics == next.metrics, "metrics");
  check(running.api == next.api, "api");
  check(running.fastpath == next.fastpath, "fastpath");
  check(running.storage == next.storage, "storage");
  if (running.pools.size() != next.pools.size()) {
    out.emplace_back("pools (added or removed)");
  } else {
    for (std::size_t i = 0; i < running.pools.size(); ++i) {
      if (layout_of(running.pools[i]) != layout_of(next.pools[i])) {
        out.push_back("pools." + running.pools[i].id + " (id, network, range, gateway, exclusions or reservations)");
      }
    }
  }
  return out;
}

}  // namespace bngkit::bngd
