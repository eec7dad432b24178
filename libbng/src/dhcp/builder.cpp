// Reply construction (RFC 2131 table 3, RFC 3046, RFC 6842) and relay option 82 insertion.
#include <algorithm>
#include <bitset>
#include <bngkit/bng/dhcp/builder.hpp>
#include <optional>

namespace bngkit::bng::dhcp {
namespace {

Error invalid(std::string what) { return make_error(std::errc::invalid_argument, std::move(what)); }

std::string num(std::size_t v) { return std::to_string(v); }

bool builder_owned(std::uint8_t code) {
  switch (code) {
    case opt::pad:
    case opt::requested_address:
    case opt::lease_time:
    case opt::overload:
    case opt::message_type:
    case opt::server_id:
    case opt::parameter_request_list:
    case opt::max_message_size:
    case opt::renewal_time:
    case opt::rebinding_time:
    case opt::client_id:
    case opt::relay_agent_info:
    case opt::end:
      return true;
    default:
      return false;
  }
}

const OptionValue* find_value(const std::vector<OptionValue>& values, std::uint8_t code) {
  for (const OptionValue& v : values) {
    if (v.code == code) return &v;
  }
  return nullptr;
}

// Moves a suffix of the movable options (in order) into the file field, then the sname
// field, adding option 52; the shortest suffix that makes the reply fit `limit` wins.
std::optional<Message> overload_to_fit(const Message& reply, const std::bitset<256>& movable,
                                       std::size_t limit) {
  std::vector<std::size_t> candidates;
  for (std::size_t i = 0; i < reply.options.size(); ++i) {
    const Option& o = reply.options[i];
    if (o.area == OptionArea::options && movable.test(o.code)) candidates.push_back(i);
  }
  for (std::size_t k = 1; k <= candidates.size(); ++k) {
    Message m = reply;
    std::vector<Option> moved;
    for (std::size_t j = candidates.size() - k; j < candidates.size(); ++j) {
      moved.push_back(reply.options[candidates[j]]);
    }
    for (std::size_t j = candidates.size(); j-- > candidates.size() - k;) {
      m.options.erase(m.options.begin() + static_cast<std::ptrdiff_t>(candidates[j]));
    }
    // Each field keeps one octet for its End option.
    std::size_t file_used = 0;
    std::size_t sname_used = 0;
    bool to_sname = false;
    bool fits = true;
    for (Option& o : moved) {
      const std::size_t need = 2 + o.data.size();
      if (!to_sname && file_used + need <= kFileSize - 1) {
        o.area = OptionArea::file;
        file_used += need;
        continue;
      }
      to_sname = true;
      if (sname_used + need > kSnameSize - 1) {
        fits = false;
        break;
      }
      o.area = OptionArea::sname;
      sname_used += need;
    }
    // Moving more options only adds to the fields, so a suffix that does not fit ends it.
    if (!fits) return std::nullopt;
    const auto which = static_cast<std::uint8_t>((file_used ? 1 : 0) | (sname_used ? 2 : 0));
    m.options.insert(m.options.begin() + 1, Option{opt::overload, {which}, OptionArea::options});
    m.options.insert(m.options.end(), std::make_move_iterator(moved.begin()),
                     std::make_move_iterator(moved.end()));
    if (m.wire_size() <= limit) return m;
  }
  return std::nullopt;
}

}  // namespace

std::size_t reply_size_limit(const Message& request) {
  const auto mms = request.max_message_size();
  if (!mms || *mms < 576) return kDefaultMaxMessageSize;
  return std::size_t{*mms} - 28;  // IPv4 header (20) and UDP header (8)
}

Result<Message> make_reply(const Message& request, MessageType type, const ReplyParams& params) {
  if (request.op != kBootRequest) {
    return invalid("request op is " + num(request.op) + ", expected BOOTREQUEST (1)");
  }
  const auto req_type = request.message_type();
  if (!req_type) return invalid("request has no DHCP message type (option 53)");
  const bool inform = *req_type == MessageType::inform;
  const bool fits = (type == MessageType::offer && *req_type == MessageType::discover) ||
                    (type == MessageType::ack && (*req_type == MessageType::request || inform)) ||
                    (type == MessageType::nak && *req_type == MessageType::request);
  if (!fits) {
    return invalid("cannot answer " + to_string(*req_type) + " with " + to_string(type));
  }
  if (params.server_id.is_unspecified()) {
    return invalid("server identifier (option 54) is 0.0.0.0");
  }
  for (const auto* list : {&params.options, &params.always_send}) {
    for (const OptionValue& v : *list) {
      if (builder_owned(v.code)) {
        return invalid("option " + num(v.code) +
                       " is set by the reply builder, not by "
                       "configured options");
      }
    }
  }

  Message reply;
  reply.op = kBootReply;
  reply.htype = request.htype;
  reply.hlen = request.hlen;
  reply.xid = request.xid;
  reply.flags = request.flags;
  reply.giaddr = request.giaddr;
  reply.chaddr = request.chaddr;
  reply.pad_to = params.min_size;

  const bool nak = type == MessageType::nak;
  const bool with_lease = !nak && !inform;
  if (with_lease) {
    if (params.your_ip.is_unspecified()) {
      return invalid(to_string(type) + " needs the client's address (your_ip)");
    }
    if (!params.lease_time) {
      return invalid(to_string(type) + " needs a lease time (option 51)");
    }
    reply.yiaddr = params.your_ip;
  }
  if (type == MessageType::ack) reply.ciaddr = request.ciaddr;
  if (!nak) reply.siaddr = params.next_server;
  // RFC 2131 4.3.2: a relayed NAK is broadcast by the relay.
  if (nak && !request.giaddr.is_unspecified()) reply.flags |= kBroadcastFlag;

  reply.add_option(opt::message_type, encode_u8(static_cast<std::uint8_t>(type)));
  reply.add_option(opt::server_id, encode_ip(params.server_id));
  if (with_lease) {
    reply.add_option(opt::lease_time, encode_u32(*params.lease_time));
    if (params.renewal_time) reply.add_option(opt::renewal_time, encode_u32(*params.renewal_time));
    if (params.rebinding_time) {
      reply.add_option(opt::rebinding_time, encode_u32(*params.rebinding_time));
    }
  }

  // Codes that may be dropped to fit, in the order they were added, and codes that may move
  // into the file/sname fields.
  std::vector<std::uint8_t> droppable;
  std::bitset<256> movable;
  if (!nak) {
    std::bitset<256> added;
    if (const auto prl = request.parameter_request_list()) {
      for (std::uint8_t code : *prl) {
        if (added.test(code) || builder_owned(code)) continue;
        const OptionValue* forced = find_value(params.always_send, code);
        const OptionValue* value = forced ? forced : find_value(params.options, code);
        if (value == nullptr) continue;
        added.set(code);
        movable.set(code);
        reply.add_option(code, value->data);
        if (!forced) droppable.push_back(code);
      }
    }
    for (const OptionValue& v : params.always_send) {
      if (added.test(v.code)) continue;
      added.set(v.code);
      movable.set(v.code);
      reply.add_option(v.code, v.data);
    }
  }
  if (!params.message.empty()) {
    reply.add_option(opt::message, encode_string(params.message));
    movable.set(opt::message);
  }
  if (auto id = request.option(opt::client_id)) reply.add_option(opt::client_id, *id);
  if (auto agent = request.option(opt::relay_agent_info)) {
    reply.add_option(opt::relay_agent_info, *agent);
  }

  const std::size_t limit = reply_size_limit(request);
  reply.pad_to = std::min(reply.pad_to, limit);
  if (reply.wire_size() > limit && params.allow_overload) {
    if (auto packed = overload_to_fit(reply, movable, limit)) reply = std::move(*packed);
  }
  while (reply.wire_size() > limit && !droppable.empty()) {
    reply.remove_option(droppable.back());
    droppable.pop_back();
  }
  if (reply.wire_size() > limit) {
    return make_error(std::errc::message_size,
                      to_string(type) + " needs " + num(reply.wire_size()) +
                          " octets without optional options, the client accepts " + num(limit));
  }
  if (auto valid = reply.validate(); !valid) return valid.error();
  return reply;
}

Result<Message> make_offer(const Message& discover, const ReplyParams& params) {
  return make_reply(discover, MessageType::offer, params);
}

Result<Message> make_ack(const Message& request, const ReplyParams& params) {
  return make_reply(request, MessageType::ack, params);
}

Result<Message> make_nak(const Message& request, Ipv4 server_id, std::string message) {
  ReplyParams params;
  params.server_id = server_id;
  params.message = std::move(message);
  return make_reply(request, MessageType::nak, params);
}

Result<void> insert_relay_agent_info(Message& request, const RelayAgentInfo& info, Ipv4 giaddr,
                                     std::size_t max_size, std::uint8_t max_hops) {
  if (request.op != kBootRequest) {
    return invalid("relay agent information goes into BOOTREQUESTs, got op " + num(request.op));
  }
  if (request.has_option(opt::relay_agent_info)) {
    return invalid("request already carries option 82 (dhcp-agent-options)");
  }
  if (request.hops >= max_hops) {
    return invalid("hops " + num(request.hops) + " reached the limit of " + num(max_hops));
  }
  if (request.giaddr.is_unspecified() && giaddr.is_unspecified()) {
    return invalid("relay address (giaddr) is 0.0.0.0");
  }
  auto value = info.serialize();
  if (!value) return value.error();
  if (value->empty()) return invalid("relay agent information has no sub-options");
  Message relayed = request;
  relayed.add_option(opt::relay_agent_info, *value);
  if (relayed.wire_size() > max_size) {
    return make_error(std::errc::message_size, "adding option 82 grows the request to " +
                                                   num(relayed.wire_size()) +
                                                   " octets, above the limit of " + num(max_size));
  }
  if (relayed.giaddr.is_unspecified()) relayed.giaddr = giaddr;
  ++relayed.hops;
  request = std::move(relayed);
  return ok();
}

}  // namespace bngkit::bng::dhcp
