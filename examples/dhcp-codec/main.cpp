// What an OLT's firmware does with DHCP frames, using only the codec:
//   1. a subscriber's DISCOVER arrives QinQ-tagged, with option 82 inserted by the access
//      node (here built by the same codec, as a capture would hand it over);
//   2. parse the frame and the message: tags, client, circuit-id, requested options;
//   3. answer with an OFFER built from the pool's parameters, framed back onto the same tags;
//   4. parse the reply again, as the subscriber would.
// Every step returns bngkit::Result: malformed input is an error saying what is wrong.
#include <bngkit/bng/dhcp/builder.hpp>
#include <bngkit/bng/dhcp/frame.hpp>
#include <bngkit/bng/dhcp/message.hpp>
#include <cstdio>
#include <string>
#include <vector>

namespace dhcp = bngkit::bng::dhcp;

namespace {

int fail(const char* step, const bngkit::Error& e) {
  std::fprintf(stderr, "%s: %s\n", step, e.message().c_str());
  return 1;
}

std::string printable(std::span<const std::uint8_t> bytes) {
  return {bytes.begin(), bytes.end()};
}

// Step 1: the frame as it reaches the BNG.
bngkit::Result<std::vector<std::uint8_t>> subscriber_discover() {
  dhcp::Message m;
  m.xid = 0x3903f326;
  m.flags = 0x8000;  // broadcast reply
  const auto mac = dhcp::MacAddress::parse("02:00:5e:10:00:01").value();
  std::copy(mac.bytes().begin(), mac.bytes().end(), m.chaddr.begin());
  const std::uint8_t discover[] = {static_cast<std::uint8_t>(dhcp::MessageType::discover)};
  m.add_option(53, discover);
  const std::uint8_t wanted[] = {1, 3, 6, 15, 51};  // mask, router, DNS, domain, lease
  m.add_option(55, wanted);
  // Option 82 from the access node: circuit-id "olt-east-01 pon 1/1/3 ont 7", remote-id.
  const std::string circuit = "olt-east-01 pon 1/1/3 ont 7";
  const std::string remote = "ont-7";
  std::vector<std::uint8_t> rai = {1, static_cast<std::uint8_t>(circuit.size())};
  rai.insert(rai.end(), circuit.begin(), circuit.end());
  rai.push_back(2);
  rai.push_back(static_cast<std::uint8_t>(remote.size()));
  rai.insert(rai.end(), remote.begin(), remote.end());
  m.add_option(82, rai);
  m.pad_to = 300;

  dhcp::UdpFrame headers;
  headers.src_mac = mac;
  headers.src_ip = dhcp::Ipv4(0, 0, 0, 0);
  headers.vlans = {{0x88a8, 100}, {0x8100, 1003}};  // S-VLAN per OLT, C-VLAN per subscriber
  return dhcp::build_dhcp_frame(headers, m);
}

}  // namespace

int main() {
  auto wire = subscriber_discover();
  if (!wire) return fail("building the subscriber's DISCOVER", wire.error());

  // Step 2: parse.
  auto frame = dhcp::parse_udp_frame(*wire);
  if (!frame) return fail("parsing the frame", frame.error());
  auto request = dhcp::Message::parse(frame->payload);
  if (!request) return fail("parsing the DHCP message", request.error());
  const auto type = request->message_type();
  std::printf("received %s from %s, S-VLAN %u C-VLAN %u, %zu bytes\n",
              type ? dhcp::to_string(*type).c_str() : "?", frame->headers.src_mac.to_string().c_str(),
              frame->headers.vlans.at(0).vid, frame->headers.vlans.at(1).vid, wire->size());
  if (auto rai = request->relay_agent_info()) {
    if (auto c = rai->circuit_id()) std::printf("  circuit-id: %s\n", printable(*c).c_str());
    if (auto r = rai->remote_id()) std::printf("  remote-id:  %s\n", printable(*r).c_str());
  }

  // Step 3: the pool's answer.
  const auto server = dhcp::Ipv4(10, 0, 0, 1);
  dhcp::ReplyParams params;
  params.server_id = server;
  params.your_ip = dhcp::Ipv4(10, 0, 0, 42);
  params.lease_time = 3600;
  params.renewal_time = 1800;
  params.rebinding_time = 3150;
  params.always_send = {{1, {255, 255, 252, 0}}, {3, {10, 0, 0, 1}}, {6, {10, 0, 0, 1, 192, 0, 2, 53}}};
  params.options = {{15, {'i', 's', 'p', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e'}}};
  auto offer = dhcp::make_offer(*request, params);
  if (!offer) return fail("building the OFFER", offer.error());
  const auto server_mac = dhcp::MacAddress::parse("02:00:5e:00:00:01").value();
  const auto reply_headers = dhcp::reply_frame_headers(frame->headers, *request, *offer, server_mac, server);
  auto reply = dhcp::build_dhcp_frame(reply_headers, *offer);
  if (!reply) return fail("framing the OFFER", reply.error());

  // Step 4: what the subscriber receives.
  auto got = dhcp::parse_udp_frame(*reply);
  if (!got) return fail("parsing the reply frame", got.error());
  auto answer = dhcp::Message::parse(got->payload);
  if (!answer) return fail("parsing the reply", answer.error());
  std::printf("sent OFFER of %s to %s (%s), tags kept: %s, option 82 echoed: %s, %zu bytes\n",
              answer->yiaddr.to_string().c_str(), got->headers.dst_ip.to_string().c_str(),
              got->headers.dst_mac.to_string().c_str(),
              got->headers.vlans == frame->headers.vlans ? "yes" : "NO",
              answer->relay_agent_info() ? "yes" : "NO", reply->size());

  // Malformed input (cut inside option 82): an error that says where, never a crash.
  auto truncated = dhcp::Message::parse(std::span(frame->payload).first(260));
  if (truncated) return fail("a truncated message parsed", bngkit::Error{});
  std::printf("a truncated DISCOVER: %s\n", truncated.error().message().c_str());
  return got->headers.vlans == frame->headers.vlans && answer->relay_agent_info() ? 0 : 1;
}
