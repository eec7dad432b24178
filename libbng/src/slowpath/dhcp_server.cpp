// DhcpServer: RFC 2131 section 4.3 server behaviour over the allocator and lease table.
#include <bngkit/bng/slowpath/dhcp_server.hpp>

namespace bngkit::bng::slowpath {

std::string_view to_string(EndReason reason) noexcept {
  switch (reason) {
    case EndReason::released: return "released";
    case EndReason::declined: return "declined";
    case EndReason::expired: return "expired";
    case EndReason::disconnected: return "disconnected";
  }
  return "unknown";
}

namespace {

using dhcp::Ipv4;
using dhcp::Message;
using dhcp::MessageType;
using lease::Lease;
using lease::LeaseState;
using std::chrono::sys_seconds;

std::vector<std::uint8_t> ip_bytes(Ipv4 ip) { return {ip.bytes().begin(), ip.bytes().end()}; }

std::vector<std::uint8_t> ip_list_bytes(const std::vector<Ipv4>& ips) {
  std::vector<std::uint8_t> out;
  for (const auto& ip : ips) out.insert(out.end(), ip.bytes().begin(), ip.bytes().end());
  return out;
}

bool is_nak_worthy(const Error& e) {
  using pool::AllocError;
  return e.code == pool::make_error_code(AllocError::not_in_pool) ||
         e.code == pool::make_error_code(AllocError::address_in_use) ||
         e.code == pool::make_error_code(AllocError::in_probation) ||
         e.code == pool::make_error_code(AllocError::wrong_address);
}

Outcome dropped(const Message& request, std::string reason) {
  return Outcome{request.message_type(), std::nullopt, std::move(reason)};
}

}  // namespace

dhcp::ReplyParams reply_params(const pool::PoolParameters& pool, Ipv4 server_id) {
  dhcp::ReplyParams p;
  p.server_id = server_id;
  p.lease_time = static_cast<std::uint32_t>(pool.lease_time.count());
  p.renewal_time = static_cast<std::uint32_t>(pool.renewal_time.count());
  p.rebinding_time = static_cast<std::uint32_t>(pool.rebinding_time.count());
  // Subnet mask and router go to every client (many send no request list); the rest only
  // when the client asks for it.
  p.always_send.push_back({1, ip_bytes(Ipv4::from_host(pool.network.netmask()))});
  if (pool.gateway) p.always_send.push_back({3, ip_bytes(*pool.gateway)});
  if (!pool.dns.empty()) p.options.push_back({6, ip_list_bytes(pool.dns)});
  return p;
}

DhcpServer::DhcpServer(DhcpServerOptions options, pool::AddressAllocator& allocator, lease::LeaseTable& table,
                       lease::LeaseStore& store, LeaseEvents events)
    : options_(std::move(options)), allocator_(allocator), table_(table), store_(store), events_(std::move(events)) {}

pool::SubscriberKey DhcpServer::subscriber_of(const Message& request) const {
  if (options_.identity == SubscriberIdentity::client_id) {
    if (auto id = request.client_id(); id && !id->empty()) return pool::SubscriberKey::client_id(*id);
  }
  if (options_.identity == SubscriberIdentity::circuit_id) {
    if (auto rai = request.relay_agent_info()) {
      if (auto circuit = rai->circuit_id(); circuit && !circuit->empty()) {
        return pool::SubscriberKey::circuit_id(std::string_view(reinterpret_cast<const char*>(circuit->data()),
                                                                circuit->size()));
      }
    }
  }
  return pool::SubscriberKey::mac(dhcp::MacAddress::from_bytes(std::span(request.chaddr).first<6>()));
}

std::string DhcpServer::pool_of(const Message& request) const {
  // A relayed client belongs to the pool whose network holds the relay's address.
  if (!request.giaddr.is_unspecified()) {
    if (auto p = allocator_.pool_for(request.giaddr)) return p->pool_id;
  }
  return options_.default_pool;
}

Outcome DhcpServer::handle(const Message& request, sys_seconds now) {
  auto type = request.message_type();
  if (request.op != dhcp::kBootRequest) {
    ++stats_.drops;
    return Outcome{type, std::nullopt, "not a BOOTREQUEST"};
  }
  if (!type) {
    ++stats_.drops;
    return Outcome{std::nullopt, std::nullopt, "no DHCP message type (plain BOOTP is not served)"};
  }
  const auto index = static_cast<std::size_t>(*type);
  if (index < std::size(stats_.requests)) ++stats_.requests[index];
  if (request.htype != 1 || request.hlen != 6) {
    ++stats_.drops;
    return dropped(request, "hardware type is not Ethernet");
  }
  Outcome out;
  switch (*type) {
    case MessageType::discover: out = on_discover(request, now); break;
    case MessageType::request: out = on_request(request, now); break;
    case MessageType::decline: out = on_decline(request, now); break;
    case MessageType::release: out = on_release(request, now); break;
    case MessageType::inform: out = on_inform(request); break;
    default: out = dropped(request, "message type " + dhcp::to_string(*type) + " is not for a server");
  }
  if (!out.reply) ++stats_.drops;
  return out;
}

bool DhcpServer::is_new_subscriber(const pool::SubscriberKey& subscriber, std::string_view pool_id) const {
  const auto held = table_.find(subscriber, pool_id);
  return !held || !lease::is_active(held->state) || held->state == LeaseState::declined;
}

std::optional<Outcome> DhcpServer::admit(const Message& request, const pool::SubscriberKey& subscriber,
                                         std::string& pool_id, std::optional<Ipv4>& address) {
  if (!admission_) return std::nullopt;
  auto decision = admission_(AdmissionRequest{request, subscriber, pool_id});
  switch (decision.verdict) {
    case Admission::Verdict::pending: {
      ++stats_.admission_pending;
      auto out = dropped(request, "waiting for authorisation: " + decision.reason);
      out.pending = subscriber;
      return out;
    }
    case Admission::Verdict::reject:
      ++stats_.admission_rejected;
      if (request.message_type() == MessageType::request) return nak(request, "not authorised: " + decision.reason);
      return dropped(request, "not authorised: " + decision.reason);
    case Admission::Verdict::accept:
      break;
  }
  if (!decision.pool_id.empty()) {
    if (!allocator_.pool(decision.pool_id)) {
      return dropped(request, "authorised pool \"" + decision.pool_id + "\" is not configured");
    }
    pool_id = decision.pool_id;
  }
  address = decision.address;
  return std::nullopt;
}

Outcome DhcpServer::on_discover(const Message& request, sys_seconds now) {
  const auto subscriber = subscriber_of(request);
  auto pool_id = pool_of(request);
  if (draining_ && is_new_subscriber(subscriber, pool_id)) return dropped(request, std::string(kDrainingReason));
  std::optional<Ipv4> assigned;
  if (auto refused = admit(request, subscriber, pool_id, assigned)) return std::move(*refused);
  if (assigned) {
    // The address the authorisation names wins over one the subscriber holds from before.
    if (auto held = table_.find(subscriber, pool_id); held && lease::is_active(held->state) &&
                                                      held->state != LeaseState::declined &&
                                                      held->address != *assigned) {
      (void)allocator_.release(subscriber, pool_id, held->address);
      end(*held, LeaseState::released, now, true, EndReason::disconnected);
    }
  }
  auto allocation = allocator_.allocate({subscriber, pool_id, assigned ? assigned : request.requested_ip()});
  if (!allocation) return dropped(request, "no address for " + subscriber.to_string() + ": " + allocation.error().message());
  const auto& a = allocation.value();
  if (assigned && a.address != *assigned) {
    (void)allocator_.release(subscriber, pool_id, a.address);
    return dropped(request, "authorised address " + assigned->to_string() + " is not free in pool " + pool_id);
  }
  // An OFFER promises nothing durable: it lives in memory until REQUEST or offer_time.
  if (auto existing = table_.find(a.address); !existing || existing->state != LeaseState::bound) {
    Lease offered{a.address, pool_id, subscriber, LeaseState::offered, now + options_.offer_time, {}, {}, {}, now};
    if (auto r = table_.upsert(offered); !r) return dropped(request, "lease table: " + r.error().message());
  }
  auto offer = dhcp::make_offer(request, [&] {
    auto p = reply_params(a.pool, options_.server_id);
    p.your_ip = a.address;
    return p;
  }());
  if (!offer) return dropped(request, "building OFFER: " + offer.error().message());
  ++stats_.offers;
  return Outcome{MessageType::discover, std::move(offer).value(), {}};
}

Outcome DhcpServer::on_request(const Message& request, sys_seconds now) {
  const auto subscriber = subscriber_of(request);
  auto pool_id = pool_of(request);
  if (draining_ && is_new_subscriber(subscriber, pool_id)) return dropped(request, std::string(kDrainingReason));
  const auto server_id = request.server_id();
  if (server_id && *server_id != options_.server_id) {
    // SELECTING another server's offer: give back what we offered.
    if (auto offered = table_.find(subscriber, pool_id); offered && offered->state == LeaseState::offered) {
      (void)allocator_.release(subscriber, pool_id, offered->address);
      end(*offered, LeaseState::released, now, false, EndReason::released);
    }
    return dropped(request, "client chose server " + server_id->to_string());
  }
  std::optional<Ipv4> assigned;
  if (auto refused = admit(request, subscriber, pool_id, assigned)) return std::move(*refused);
  // SELECTING and INIT-REBOOT name the address in option 50; RENEWING/REBINDING in ciaddr.
  const auto requested = request.requested_ip();
  const Ipv4 address = requested ? *requested : request.ciaddr;
  if (address.is_unspecified()) return dropped(request, "REQUEST names no address (no option 50, ciaddr 0)");
  if (assigned && address != *assigned) {
    return nak(request, "authorised for " + assigned->to_string() + ", not " + address.to_string());
  }
  auto allocation = allocator_.renew(subscriber, pool_id, address);
  if (!allocation) {
    if (is_nak_worthy(allocation.error())) return nak(request, allocation.error().message());
    return dropped(request, allocation.error().message());
  }
  return ack(request, allocation.value(), now);
}

Outcome DhcpServer::ack(const Message& request, const pool::Allocation& a, sys_seconds now) {
  const auto pool_id = a.pool.pool_id;
  Lease bound{a.address, pool_id, a.subscriber, LeaseState::bound, now + a.pool.lease_time, {}, {}, {}, now};
  if (auto host = request.option(12)) bound.hostname.assign(host->begin(), host->end());
  if (auto rai = request.relay_agent_info()) {
    if (auto c = rai->circuit_id()) bound.circuit_id.assign(c->begin(), c->end());
    if (auto r = rai->remote_id()) bound.remote_id.assign(r->begin(), r->end());
  }
  // Durable before the client hears about it: an ACKed lease survives kill -9.
  if (auto r = store_.upsert(bound); !r) return dropped(request, "lease store: " + r.error().message());
  if (auto r = table_.upsert(bound); !r) return dropped(request, "lease table: " + r.error().message());
  auto params = reply_params(a.pool, options_.server_id);
  params.your_ip = a.address;
  auto reply = dhcp::make_ack(request, params);
  if (!reply) return dropped(request, "building ACK: " + reply.error().message());
  ++stats_.acks;
  if (events_.bound) events_.bound(bound);
  return Outcome{MessageType::request, std::move(reply).value(), {}};
}

Outcome DhcpServer::nak(const Message& request, std::string reason) {
  auto reply = dhcp::make_nak(request, options_.server_id, reason);
  if (!reply) return dropped(request, "building NAK: " + reply.error().message());
  ++stats_.naks;
  return Outcome{request.message_type(), std::move(reply).value(), {}};
}

Outcome DhcpServer::on_decline(const Message& request, sys_seconds now) {
  const auto server_id = request.server_id();
  if (!server_id || *server_id != options_.server_id) return dropped(request, "DECLINE for another server");
  const auto address = request.requested_ip();
  if (!address) return dropped(request, "DECLINE without option 50");
  const auto subscriber = subscriber_of(request);
  auto current = table_.find(*address);
  if (!current || current->subscriber != subscriber) {
    return dropped(request, "DECLINE of " + address->to_string() + " by a client that does not hold it");
  }
  auto until = allocator_.decline(subscriber, current->pool_id, *address);
  if (!until) return dropped(request, until.error().message());
  Lease declined = *current;
  declined.state = LeaseState::declined;
  declined.expires = until.value();
  declined.last_seen = now;
  if (auto r = store_.upsert(declined); !r) return dropped(request, "lease store: " + r.error().message());
  (void)table_.upsert(declined);
  if (events_.ended) events_.ended(declined, EndReason::declined);
  return dropped(request, "");  // DECLINE has no reply
}

Outcome DhcpServer::on_release(const Message& request, sys_seconds now) {
  const auto subscriber = subscriber_of(request);
  auto current = table_.find(request.ciaddr);
  if (!current || current->subscriber != subscriber || !lease::is_active(current->state)) {
    return dropped(request, "RELEASE of " + request.ciaddr.to_string() + " by a client that does not hold it");
  }
  if (auto r = allocator_.release(subscriber, current->pool_id, current->address); !r) {
    return dropped(request, r.error().message());
  }
  end(*current, LeaseState::released, now, true, EndReason::released);
  return dropped(request, "");  // RELEASE has no reply
}

Outcome DhcpServer::on_inform(const Message& request) {
  auto pool = allocator_.pool_for(request.ciaddr);
  if (!pool) pool = allocator_.pool(pool_of(request));
  if (!pool) return dropped(request, "INFORM from " + request.ciaddr.to_string() + " outside every pool");
  auto params = reply_params(*pool, options_.server_id);
  params.lease_time.reset();
  params.renewal_time.reset();
  params.rebinding_time.reset();
  auto reply = dhcp::make_ack(request, params);
  if (!reply) return dropped(request, "building ACK: " + reply.error().message());
  ++stats_.acks;
  return Outcome{MessageType::inform, std::move(reply).value(), {}};
}

void DhcpServer::end(Lease lease, LeaseState state, sys_seconds now, bool durable, EndReason reason) {
  const bool was_bound = lease.state == LeaseState::bound;
  lease.state = state;
  lease.expires = now;
  lease.last_seen = now;
  if (durable && was_bound) (void)store_.upsert(lease);
  (void)table_.upsert(lease);
  if (was_bound && events_.ended) events_.ended(lease, reason);
}

std::vector<Lease> DhcpServer::expire(sys_seconds now) {
  auto ended = table_.expire(now);
  if (auto stored = store_.expire(now); !stored) {
    // The table already moved on; the store catches up on the next call or restart.
  }
  for (const auto& l : ended) {
    if (l.state == LeaseState::offered || l.state == LeaseState::bound) {
      (void)allocator_.release(l.subscriber, l.pool_id, l.address);
    }
    if (l.state == LeaseState::bound && events_.ended) events_.ended(l, EndReason::expired);
  }
  return ended;
}

Result<bool> DhcpServer::record_renewal(const pool::SubscriberKey& subscriber, Ipv4 address, sys_seconds expires,
                                        sys_seconds now) {
  auto current = table_.find(address);
  if (!current || current->subscriber != subscriber || current->state != LeaseState::bound) {
    return make_error(std::errc::no_such_process,
                      "fast path renewed " + address.to_string() + " for " + subscriber.to_string() +
                          " which holds no bound lease on it");
  }
  const auto params = allocator_.pool(current->pool_id);
  const auto t1 = params ? params->renewal_time : std::chrono::seconds{0};
  if (current->expires >= now + t1 || expires <= current->expires) return false;
  current->expires = expires;
  current->last_seen = now;
  if (auto r = store_.upsert(*current); !r) return r.error();
  if (auto r = table_.upsert(*current); !r) return r.error();
  return true;
}

Result<Lease> DhcpServer::end_lease(Ipv4 address, sys_seconds now) {
  auto current = table_.find(address);
  if (!current || !lease::is_active(current->state)) {
    return make_error(std::errc::no_such_file_or_directory, "no active lease on " + address.to_string());
  }
  (void)allocator_.release(current->subscriber, current->pool_id, address);
  end(*current, LeaseState::released, now, true, EndReason::disconnected);
  return *current;
}

std::optional<std::vector<std::uint8_t>> DhcpServer::handle_frame(std::span<const std::uint8_t> frame, sys_seconds now,
                                                                  Outcome* outcome) {
  // Checksums: a UDP checksum of 0 is legal (dhcpcd sends it); veth may hand us partial sums.
  auto parsed = dhcp::parse_udp_frame(frame, dhcp::FrameChecks{true, false});
  if (!parsed || parsed->headers.dst_port != dhcp::kDhcpServerPort) {
    ++stats_.malformed;
    if (outcome) *outcome = Outcome{std::nullopt, std::nullopt, parsed ? "not to port 67" : parsed.error().message()};
    return std::nullopt;
  }
  auto request = Message::parse(parsed->payload, dhcp::Validation::framing);
  if (!request) {
    ++stats_.malformed;
    if (outcome) *outcome = Outcome{std::nullopt, std::nullopt, request.error().message()};
    return std::nullopt;
  }
  auto result = handle(request.value(), now);
  std::optional<std::vector<std::uint8_t>> out;
  if (result.reply) {
    auto headers = dhcp::reply_frame_headers(parsed->headers, request.value(), *result.reply, options_.server_mac,
                                             options_.server_id);
    auto bytes = dhcp::build_dhcp_frame(headers, *result.reply);
    if (bytes) out = std::move(bytes).value();
    else result.drop_reason = "building reply frame: " + bytes.error().message();
  }
  if (outcome) *outcome = std::move(result);
  return out;
}

}  // namespace bngkit::bng::slowpath
