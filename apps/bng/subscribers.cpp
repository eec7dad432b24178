#include "subscribers.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>

namespace bngkit::bngd {

namespace {

using namespace bng;

std::string printable_or_hex(std::string_view raw) {
  if (std::all_of(raw.begin(), raw.end(), [](char c) { return c >= 0x20 && c < 0x7f; })) return std::string(raw);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "0x";
  for (unsigned char c : raw) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

boost::json::object session_json(const session::Session& s) {
  const auto& a = s.authorization;
  const auto& c = s.counters;
  boost::json::object o{
      {"id", s.id},
      {"state", std::string(session::to_string(s.state))},
      {"subscriber", s.subscriber.to_string()},
      {"username", s.username},
      {"mac", s.mac ? s.mac->to_string() : ""},
      {"ip", s.address ? s.address->to_string() : ""},
      {"pool_id", s.pool_id},
      {"circuit_id", printable_or_hex(s.circuit_id)},
      {"remote_id", printable_or_hex(s.remote_id)},
      {"created", s.created.time_since_epoch().count()},
      {"started", s.state == session::State::active ? s.started.time_since_epoch().count() : 0},
      {"last_activity", s.last_activity.time_since_epoch().count()},
      {"session_timeout", a.session_timeout.count()},
      {"idle_timeout", a.idle_timeout.count()},
      {"filter_id", a.filter_id},
      {"rate", {{"up_bps", a.rate.up_bps}, {"down_bps", a.rate.down_bps}}},
      {"counters",
       {{"packets_up", c.packets_up},
        {"octets_up", c.octets_up},
        {"packets_down", c.packets_down},
        {"octets_down", c.octets_down},
        {"dropped_up", c.dropped_up},
        {"dropped_down", c.dropped_down}}}};
  if (s.state == session::State::rejected) o["reason"] = s.reject_reason;
  return o;
}

session::UserNameSource username_source(const std::string& name) {
  if (name == "circuit-id") return session::UserNameSource::circuit_id;
  if (name == "remote-id") return session::UserNameSource::remote_id;
  return session::UserNameSource::mac;
}

}  // namespace

session::SessionOptions session_options(const Config& c) {
  session::SessionOptions o;
  o.database = c.storage.session_db;
  // Those holding a lease plus as many waiting for one: a bound on what DISCOVERs can add.
  if (c.olt.capacity > 0) o.max_sessions = std::max<std::size_t>(2 * std::size_t{c.olt.capacity}, 1024);
  if (c.radius) {
    const auto& r = *c.radius;
    o.authorize = r.authorize;
    o.accounting = r.accounting;
    o.interim_interval = r.interim_interval;
    o.accounting_queue_limit = r.accounting_queue_limit;
    o.aaa.username = username_source(r.username);
    o.aaa.password = r.password;
    o.aaa.nas_identifier = r.nas_identifier;
    o.aaa.nas_ip = r.nas_ip;
    o.aaa.rate_profiles = r.rate_profiles;
  }
  return o;
}

Subscribers::~Subscribers() = default;

Result<std::unique_ptr<Subscribers>> Subscribers::create(boost::asio::io_context& io, const Config& c,
                                                         Gateway& gateway) {
  std::unique_ptr<Subscribers> self(new Subscribers(gateway));
  if (c.fastpath.traffic) {
    fastpath::SubscriberTrafficOptions to;
    to.interface = c.interfaces.subscriber;
    to.pin_dir = c.fastpath.pin_path;  // counters survive a restart with the cache maps
    if (c.olt.capacity > 0) to.max_subscribers = std::max<std::uint32_t>(c.olt.capacity, 1024);
    auto traffic = fastpath::SubscriberTraffic::create(to);
    if (!traffic) return Error{traffic.error().code, "subscriber traffic program: " + traffic.error().message()};
    self->traffic_.emplace(std::move(traffic).value());
    self->kernel_traffic_ = std::make_unique<session::KernelTraffic>(*self->traffic_);
  }
  if (c.radius) {
    radius::ClientOptions ro;
    for (const auto& s : c.radius->servers) ro.servers.push_back({s.host, s.port, s.accounting_port, s.secret});
    ro.timeout = c.radius->timeout;
    ro.retries = c.radius->retries;
    ro.dead_time = c.radius->dead_time;
    ro.nas_ip = c.radius->nas_ip;
    ro.nas_identifier = c.radius->nas_identifier;
    auto client = radius::Client::create(io, ro);
    if (!client) return Error{client.error().code, "RADIUS client: " + client.error().message()};
    self->radius_ = std::move(client).value();
  }

  session::SessionHooks hooks;
  if (self->radius_) {
    hooks.authenticate = session::send_through(*self->radius_);
    hooks.account = session::send_through(*self->radius_);
  }
  hooks.traffic = self->kernel_traffic_.get();
  hooks.end_lease = [&gateway](dhcp::Ipv4 address) -> Result<void> {
    auto ended = gateway.disconnect(address);
    if (!ended) return ended.error();
    return ok();
  };
  hooks.admission_decided = [&gateway](const pool::SubscriberKey& key) { gateway.readmit(key); };
  if (const auto dir = std::filesystem::path(c.storage.session_db).parent_path(); !dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return Error{ec, "storage.session_db: cannot create " + dir.string()};
  }
  auto sessions = session::SessionManager::create(io, session_options(c), std::move(hooks));
  if (!sessions) return sessions.error();
  self->sessions_ = std::move(sessions).value();

  auto* manager = self->sessions_.get();
  gateway.set_admission([manager](const slowpath::AdmissionRequest& r) { return manager->admit(r); });
  gateway.set_lease_observer({[manager](const lease::Lease& l) { manager->lease_bound(l); },
                              [manager](const lease::Lease& l, slowpath::EndReason why) { manager->lease_ended(l, why); }});

  if (c.radius && c.radius->dae.enabled) {
    radius::DaeServerOptions dopt;
    dopt.listen_address = c.radius->dae.bind;
    dopt.port = c.radius->dae.port;
    for (const auto& cl : c.radius->dae.clients) dopt.clients.push_back({cl.address.to_string(), cl.secret});
    auto dae = radius::DaeServer::create(
        io, dopt, [manager](const radius::Packet& request, const radius::DaeSource& from, radius::DaeServer::Respond respond) {
          const auto answer = manager->handle_dae(request);
          const char* what = request.code == radius::Code::kDisconnectRequest ? "Disconnect" : "CoA";
          if (answer.ack) {
            spdlog::info("RADIUS {}-Request from {}: ACK", what, from.address);
            respond(radius::DaeReply::make_ack());
          } else {
            spdlog::warn("RADIUS {}-Request from {}: NAK ({}: {})", what, from.address,
                         static_cast<unsigned>(answer.cause), answer.reason);
            respond(radius::DaeReply::make_nak(answer.cause));
          }
        });
    if (!dae) return Error{dae.error().code, "RADIUS Dynamic Authorization server: " + dae.error().message()};
    self->dae_ = std::move(dae).value();
  }
  return self;
}

Result<void> Subscribers::start() {
  if (traffic_) {
    if (auto r = traffic_->attach(); !r) return Error{r.error().code, "subscriber traffic program: " + r.error().message()};
  }
  auto restored = sessions_->start(gateway_.leases());
  if (!restored) return restored.error();
  // After a crash this is how the operator learns what was carried over and what
  // accounting the daemon still owed (and now sends) from before it died.
  const auto& r = *restored;
  spdlog::info("sessions restored: {} active (no new Start), {} ended while down (Stop sent), {} bound leases "
               "without an active session started; accounting queue resumed with {} records{}",
               r.restored_active, r.ended_while_down, r.started, r.accounting_resumed,
               r.accounting_on ? ", Accounting-On sent (nothing carried over)" : "");
  return ok();
}

void Subscribers::stop(boost::asio::io_context& io, std::chrono::milliseconds grace) {
  sessions_->stop();
  if (dae_) dae_->stop();
  // Accounting-Off (or the last Stops) may be in flight: give them a moment, not forever —
  // what is not acknowledged stays queued on disk and goes out after the restart.
  const auto deadline = std::chrono::steady_clock::now() + grace;
  io.restart();
  while (!sessions_->accounting_idle() && std::chrono::steady_clock::now() < deadline) {
    io.run_one_for(std::chrono::milliseconds(50));
  }
  if (radius_) radius_->stop();
  if (traffic_) (void)traffic_->detach();
}

void Subscribers::add_routes(ops::Router& router) {
  auto* sessions = sessions_.get();
  router.add("GET", "/api/v1/sessions", [sessions](const ops::Request& req) {
    const auto state = req.query_param("state");
    boost::json::array out;
    for (const auto& s : sessions->sessions()) {
      if (state && *state != session::to_string(s.state)) continue;
      out.push_back(session_json(s));
    }
    const auto count = out.size();
    return ops::Response::json(200, boost::json::serialize(boost::json::object{{"sessions", std::move(out)},
                                                                               {"count", count}}));
  });
  router.add("GET", "/api/v1/sessions/{id}", [sessions](const ops::Request& req) {
    auto s = sessions->find(req.params.at("id"));
    if (!s) return ops::Response::error(404, "no session " + req.params.at("id"));
    return ops::Response::json(200, boost::json::serialize(session_json(*s)));
  });
  router.add("DELETE", "/api/v1/sessions/{id}", [sessions](const ops::Request& req) {
    auto ended = sessions->disconnect(req.params.at("id"));
    if (!ended) return ops::Response::error(404, ended.error().message());
    spdlog::info("session {} of {} disconnected by operator", ended->id, ended->subscriber.to_string());
    return ops::Response::no_content();
  });
}

void Subscribers::add_health(ops::HealthChecks& health) {
  if (traffic_) {
    auto* traffic = &*traffic_;
    health.add(ops::HealthChecks::Kind::readiness, "subscriber_traffic", [traffic] {
      return traffic->attached() ? ops::CheckResult{true, "counters and rate limits attached"}
                                 : ops::CheckResult{false, "per-subscriber TC program is not attached"};
    });
  }
  if (radius_) {
    auto* client = radius_.get();
    health.add(ops::HealthChecks::Kind::readiness, "radius", [client] {
      const auto st = client->stats();
      const auto alive = std::count_if(st.auth.begin(), st.auth.end(), [](const auto& s) { return s.alive; });
      if (alive == 0) return ops::CheckResult{false, "no RADIUS authentication server is answering"};
      return ops::CheckResult{true, std::to_string(alive) + " of " + std::to_string(st.auth.size()) +
                                        " RADIUS servers answering"};
    });
  }
}

void Subscribers::reload(const Config& next) { sessions_->update_options(session_options(next)); }

SubscribersStatus Subscribers::status() const {
  SubscribersStatus s;
  s.sessions = sessions_->stats();
  if (radius_) s.radius = radius_->stats();
  if (dae_) s.dae = dae_->stats();
  if (traffic_) {
    if (auto t = traffic_->status()) s.traffic = *t;
  }
  return s;
}

}  // namespace bngkit::bngd
