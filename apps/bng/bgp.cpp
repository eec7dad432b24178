// The daemon's BGP wiring: desired prefixes from pools and leases, drain, reload, shutdown.
#include "bgp.hpp"

#include <grp.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace bngkit::bngd {

namespace bgp = bng::bgp;

std::vector<bgp::Prefix> desired_prefixes(const Config& config, const std::vector<bng::lease::Lease>& leases) {
  std::vector<bgp::Prefix> out;
  for (const auto& p : config.pools) out.push_back(p.network.normalized());
  if (config.bgp.announce_host_routes) {
    for (const auto& l : leases) {
      if (l.state == bng::lease::LeaseState::bound) out.push_back(bgp::Prefix{l.address, 32});
    }
  }
  return bgp::canonical(std::move(out));
}

bgp::AnnouncerOptions announcer_options(const BgpConfig& b) {
  bgp::AnnouncerOptions o;
  o.speaker.local_as = b.local_as;
  o.speaker.router_id = b.router_id;
  for (const auto& n : b.neighbors) o.speaker.neighbors.push_back({n.address, n.remote_as});
  o.vtysh = b.vtysh;
  o.vty_socket_dir = b.vty_socket;
  o.command_timeout = b.command_timeout;
  o.reconcile_interval = b.reconcile_interval;
  return o;
}

BgpAnnouncements::BgpAnnouncements(Config config, boost::asio::io_context& io, const bng::Gateway& gateway,
                                   std::unique_ptr<bgp::RouteAnnouncer> announcer)
    : config_(std::move(config)), gateway_(gateway), announcer_(std::move(announcer)), timer_(io) {}

Result<std::unique_ptr<BgpAnnouncements>> BgpAnnouncements::start(const Config& config, boost::asio::io_context& io,
                                                                  const bng::Gateway& gateway) {
  auto announcer = bgp::RouteAnnouncer::create(announcer_options(config.bgp));
  if (!announcer) return std::move(announcer).error();
  std::unique_ptr<BgpAnnouncements> self(
      new BgpAnnouncements(config, io, gateway, std::move(announcer).value()));
  self->refresh();  // the desired set is in place before the first reconcile
  self->announcer_->start();
  self->schedule();
  spdlog::info("bgp: announcing through FRR as AS {} (router id {}) to {} neighbor(s){}", config.bgp.local_as,
               config.bgp.router_id, config.bgp.neighbors.size(),
               config.bgp.announce_host_routes ? ", with subscriber host routes" : "");
  return self;
}

void BgpAnnouncements::refresh() {
  // Leases are read here, on the io thread; the announcer's worker does the vtysh calls.
  announcer_->set_prefixes(desired_prefixes(config_, config_.bgp.announce_host_routes ? gateway_.leases()
                                                                                      : std::vector<bng::lease::Lease>{}));
  const auto s = announcer_->status();
  if (s.reconciles == 0) return;
  if (s.frr_up != frr_was_up_) {
    if (s.frr_up) spdlog::info("bgp: FRR bgpd reachable again");
    else spdlog::warn("bgp: FRR bgpd unreachable ({}); DHCP keeps serving, retrying every {}s", s.last_error,
                      std::chrono::duration_cast<std::chrono::seconds>(config_.bgp.reconcile_interval).count());
    frr_was_up_ = s.frr_up;
  }
  if (s.frr_up && s.announced_prefixes != announced_logged_) {
    spdlog::info("bgp: FRR holds {} prefix(es); peers established: {}/{}", s.announced_prefixes,
                 std::count_if(s.peers.begin(), s.peers.end(), [](const auto& p) { return p.established(); }),
                 s.peers.size());
    announced_logged_ = s.announced_prefixes;
  }
  if (s.last_error != last_error_logged_) {
    if (!s.last_error.empty() && s.frr_up) spdlog::warn("bgp: reconcile failed: {}", s.last_error);
    last_error_logged_ = s.last_error;
  }
}

void BgpAnnouncements::schedule() {
  timer_.expires_after(config_.bgp.reconcile_interval);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    refresh();
    schedule();
  });
}

Result<void> BgpAnnouncements::apply(const Config& next) {
  if (auto r = announcer_->set_speaker(announcer_options(next.bgp).speaker); !r) return r;
  config_ = next;
  refresh();
  return ok();
}

void BgpAnnouncements::set_draining(bool draining) {
  announcer_->set_announcing(!draining);
  spdlog::info(draining ? "bgp: withdrawing every prefix (drain)" : "bgp: announcing again (drain ended)");
}

void BgpAnnouncements::shutdown() {
  timer_.cancel();
  if (auto r = announcer_->shutdown(); !r) {
    spdlog::warn("bgp: could not withdraw the announcements at shutdown: {}", r.error().message());
  } else {
    spdlog::info("bgp: every prefix withdrawn");
  }
}

bgp::AnnouncerStatus BgpAnnouncements::status() const { return announcer_->status(); }

ops::CheckResult BgpAnnouncements::health() const {
  const auto s = announcer_->status();
  if (s.reconciles == 0) return {false, "FRR not reconciled yet"};
  if (!s.frr_up) return {false, "FRR bgpd unreachable: " + s.last_error};
  std::string peers;
  for (const auto& p : s.peers) peers += fmt::format("{}{} {}", peers.empty() ? "" : ", ", p.address, p.state);
  const auto detail = fmt::format("{} prefix(es) in FRR, {} wanted{}; peers: {}", s.announced_prefixes,
                                  s.desired_prefixes, s.announcing ? "" : " (withdrawn: draining)",
                                  peers.empty() ? "none" : peers);
  if (!s.last_error.empty()) return {false, "reconcile failed: " + s.last_error + "; " + detail};
  return {true, detail};
}

Result<void> join_group(const char* name) {
  const struct group* g = ::getgrnam(name);
  if (g == nullptr) return make_error(std::errc::no_such_file_or_directory, std::string("no group ") + name + " (is frr installed?)");
  const int n = ::getgroups(0, nullptr);
  std::vector<gid_t> groups(static_cast<std::size_t>(std::max(n, 0)));
  if (n > 0 && ::getgroups(n, groups.data()) < 0) return errno_error(errno, "getgroups");
  if (std::find(groups.begin(), groups.end(), g->gr_gid) != groups.end() || ::getegid() == g->gr_gid) return ok();
  groups.push_back(g->gr_gid);
  if (::setgroups(groups.size(), groups.data()) != 0) return errno_error(errno, std::string("joining group ") + name);
  return ok();
}

}  // namespace bngkit::bngd
