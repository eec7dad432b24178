// libFuzzer target for the RADIUS codec. Any bytes: parsing either fails with a message or
// yields a packet that serializes back to the same octets; every view of a packet (VSAs, typed
// values, the text dump, access-line attributes, password unhiding, authenticator checks) runs
// without crashing; and a packet this library signs verifies. The GoogleTest
// tests/bng/radius_fuzz_corpus_test.cpp links this file with BNGKIT_FUZZ_IN_GTEST and feeds
// radius_parse_one() the fixtures, the corpus (fuzz/radius_parse_corpus) and mutations of them.
#include <algorithm>
#include <bngkit/bng/radius/auth.hpp>
#include <bngkit/bng/radius/dictionary.hpp>
#include <bngkit/bng/radius/packet.hpp>
#include <bngkit/bng/radius/value.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

#define RADIUS_FUZZ_CHECK(cond)                                                                   \
  do {                                                                                            \
    if (!(cond)) {                                                                                \
      std::fprintf(stderr, "radius fuzz: check failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                               \
    }                                                                                             \
  } while (0)

namespace bngkit::fuzz {

using namespace bngkit::bng::radius;

namespace {

constexpr std::string_view kSecret = "testing123";

void exercise_attribute(const Dictionary& dictionary, const Attribute& attribute) {
  const auto value = attribute.value();
  if (attribute.type() == attr::kVendorSpecific && value.size() >= 4) {
    const std::uint32_t vendor_id = (std::uint32_t{value[0]} << 24) |
                                    (std::uint32_t{value[1]} << 16) |
                                    (std::uint32_t{value[2]} << 8) | value[3];
    if (auto vsa = parse_vendor_specific(attribute, dictionary.vendor_format(vendor_id))) {
      RADIUS_FUZZ_CHECK(vsa->vendor == vendor_id);
      for (const auto& sub : vsa->attributes) {
        // Sub-attribute values lie inside the attribute.
        RADIUS_FUZZ_CHECK(sub.value.data() >= value.data());
        RADIUS_FUZZ_CHECK(sub.value.data() + sub.value.size() <= value.data() + value.size());
        if (const auto def = dictionary.find(vendor_id, sub.type)) {
          (void)check_value(def->type, sub.value, def->fixed_length);
          (void)format_value(def->type, sub.value);
        }
      }
    } else {
      RADIUS_FUZZ_CHECK(!vsa.error().context.empty());
    }
  }
  if (const auto def = dictionary.find(0, attribute.type())) {
    (void)check_value(def->type, value, def->fixed_length);
    const std::string text = format_value(def->type, value);
    RADIUS_FUZZ_CHECK(!text.empty());
  }
  // Every shape's decoder on every value: none may read out of bounds.
  (void)decode_integer(value);
  (void)decode_integer64(value);
  (void)decode_ipaddr(value);
  (void)decode_ipv6addr(value);
  (void)decode_ipv6prefix(value);
  (void)decode_ipv4prefix(value);
  (void)decode_ifid(value);
  (void)decode_ether(value);
}

}  // namespace

int radius_parse_one(const std::uint8_t* data, std::size_t size) {
  static const Dictionary dictionary;
  const std::span<const std::uint8_t> wire(data, size);
  const Authenticator request_auth{};

  auto packet = Packet::parse(wire);
  if (!packet) {
    RADIUS_FUZZ_CHECK(!packet.error().context.empty());
    // The checks that work on raw octets must refuse the same input without crashing.
    RADIUS_FUZZ_CHECK(!verify_request(wire, kSecret).ok());
    RADIUS_FUZZ_CHECK(!verify_response(wire, request_auth, kSecret).ok());
    RADIUS_FUZZ_CHECK(!compute_message_authenticator(wire, kSecret, request_auth).ok());
    return 0;
  }

  // Round trip: serialize gives back the first Length octets exactly.
  const std::size_t length = (std::size_t{data[2]} << 8) | data[3];
  auto again = packet->serialize();
  RADIUS_FUZZ_CHECK(again.ok());
  RADIUS_FUZZ_CHECK(again->size() == length);
  RADIUS_FUZZ_CHECK(std::equal(again->begin(), again->end(), data));
  RADIUS_FUZZ_CHECK(packet->wire_size() == length);

  for (const auto& attribute : packet->attributes) exercise_attribute(dictionary, attribute);
  const std::string text = dictionary.format(*packet);
  RADIUS_FUZZ_CHECK(!text.empty());
  (void)read_access_line(*packet);
  if (const auto* password = packet->find(attr::kUserPassword)) {
    (void)unhide_password(password->value(), kSecret, packet->authenticator);
  }
  if (const auto* tunnel = packet->find(attr::kTunnelPassword);
      tunnel && !tunnel->value().empty()) {
    (void)unhide_tunnel_password(tunnel->value().subspan(1), kSecret, request_auth);
  }
  (void)verify_chap_password(*packet, "password");
  (void)verify_request(wire, kSecret);
  (void)verify_response(wire, request_auth, kSecret);
  (void)compute_message_authenticator(wire, kSecret, request_auth);

  // What this library signs, it verifies.
  std::vector<std::uint8_t> copy(data, data + length);
  if (sign(copy, kSecret, request_auth)) {
    const auto code = packet->code;
    const auto* ma = packet->find(attr::kMessageAuthenticator);
    const bool ma_usable =
        packet->count(attr::kMessageAuthenticator) == 1 && ma->value().size() == kAuthenticatorSize;
    const bool ma_needed =
        packet->find(attr::kEapMessage) != nullptr || code == Code::kStatusServer;
    if (!ma_needed || ma_usable) {
      if (is_request(code)) RADIUS_FUZZ_CHECK(verify_request(copy, kSecret).ok());
      if (is_response(code)) RADIUS_FUZZ_CHECK(verify_response(copy, request_auth, kSecret).ok());
    }
  }
  return 0;
}

}  // namespace bngkit::fuzz

#ifndef BNGKIT_FUZZ_IN_GTEST
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return bngkit::fuzz::radius_parse_one(data, size);
}
#endif
