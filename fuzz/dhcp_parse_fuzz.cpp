// libFuzzer target for the DHCPv4 message parser. Any bytes: parse either fails with a
// message or yields a message whose serialization is a fixed point (serialize -> parse ->
// serialize gives the same octets and the same options); every accessor, the option
// formatter and the reply builder run without crashing. Built as a fuzzer with
// -DBNGKIT_FUZZ=ON (clang); also linked into bng_dhcp_codec_tests, which feeds it the fixtures.
#include <bngkit/bng/dhcp/builder.hpp>
#include <bngkit/bng/dhcp/message.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

#define DHCP_FUZZ_CHECK(cond)                                                                   \
  do {                                                                                          \
    if (!(cond)) {                                                                              \
      std::fprintf(stderr, "dhcp fuzz: check failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                             \
    }                                                                                           \
  } while (0)

namespace bngkit::fuzz {

using namespace bngkit::bng::dhcp;

namespace {

void exercise(const Message& m) {
  (void)m.to_string();
  (void)m.message_type();
  (void)m.requested_ip();
  (void)m.server_id();
  (void)m.subnet_mask();
  (void)m.routers();
  (void)m.dns_servers();
  (void)m.lease_time();
  (void)m.client_id();
  (void)m.parameter_request_list();
  (void)m.max_message_size();
  (void)m.hostname();
  (void)m.overload();
  (void)m.hardware_address();
  (void)m.sname_text();
  (void)m.file_text();
  if (auto rai = m.relay_agent_info()) {
    (void)rai->to_string();
    (void)rai->circuit_id();
    (void)rai->remote_id();
    auto value = rai->serialize();
    DHCP_FUZZ_CHECK(value.ok());
    DHCP_FUZZ_CHECK(*value == *m.option(opt::relay_agent_info));
  }
  for (const Option& o : m.merged_options()) {
    (void)format_option(o.code, o.data);
    (void)validate_option(o.code, o.data);
    (void)decode_dns_names(o.data);
    (void)decode_classless_routes(o.data);
  }
  // A server answering whatever this is must not crash either.
  ReplyParams params;
  params.server_id = Ipv4(192, 0, 2, 1);
  params.your_ip = Ipv4(192, 0, 2, 100);
  params.lease_time = 3600;
  params.options.push_back({opt::router, encode_ip(Ipv4(192, 0, 2, 1))});
  params.options.push_back({opt::domain_name, encode_string("isp.example")});
  for (MessageType type : {MessageType::offer, MessageType::ack, MessageType::nak}) {
    auto reply = make_reply(m, type, params);
    if (!reply) continue;
    DHCP_FUZZ_CHECK(reply->validate().ok());
    auto bytes = reply->serialize();
    DHCP_FUZZ_CHECK(bytes.ok());
    DHCP_FUZZ_CHECK(bytes->size() <= reply_size_limit(m));
    DHCP_FUZZ_CHECK(Message::parse(*bytes).ok());
  }
}

}  // namespace

int dhcp_parse_one(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> input(data, size);
  for (Validation validation : {Validation::strict, Validation::framing}) {
    auto m = Message::parse(input, validation);
    if (!m) {
      DHCP_FUZZ_CHECK(!m.error().context.empty());
      continue;
    }
    if (validation == Validation::strict) DHCP_FUZZ_CHECK(m->validate().ok());
    auto first = m->serialize();
    DHCP_FUZZ_CHECK(first.ok());
    DHCP_FUZZ_CHECK(first->size() == m->wire_size());
    auto again = Message::parse(*first, Validation::framing);
    DHCP_FUZZ_CHECK(again.ok());
    DHCP_FUZZ_CHECK(again->merged_options() == m->merged_options());
    auto second = again->serialize();
    DHCP_FUZZ_CHECK(second.ok() && *second == *first);
    exercise(*m);
  }
  return 0;
}

}  // namespace bngkit::fuzz

#ifndef BNGKIT_FUZZ_IN_GTEST
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return bngkit::fuzz::dhcp_parse_one(data, size);
}
#endif
