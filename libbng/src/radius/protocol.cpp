// Names of RADIUS packet codes and wire shapes.
#include <algorithm>
#include <bngkit/bng/radius/attributes.hpp>
#include <bngkit/bng/radius/protocol.hpp>
#include <cctype>
#include <utility>

namespace bngkit::bng::radius {

std::string_view code_name(Code code) noexcept {
  switch (code) {
    case Code::kAccessRequest:
      return "Access-Request";
    case Code::kAccessAccept:
      return "Access-Accept";
    case Code::kAccessReject:
      return "Access-Reject";
    case Code::kAccountingRequest:
      return "Accounting-Request";
    case Code::kAccountingResponse:
      return "Accounting-Response";
    case Code::kAccessChallenge:
      return "Access-Challenge";
    case Code::kStatusServer:
      return "Status-Server";
    case Code::kStatusClient:
      return "Status-Client";
    case Code::kDisconnectRequest:
      return "Disconnect-Request";
    case Code::kDisconnectAck:
      return "Disconnect-ACK";
    case Code::kDisconnectNak:
      return "Disconnect-NAK";
    case Code::kCoaRequest:
      return "CoA-Request";
    case Code::kCoaAck:
      return "CoA-ACK";
    case Code::kCoaNak:
      return "CoA-NAK";
  }
  return {};
}

namespace {
constexpr std::pair<std::string_view, ValueType> kTypeNames[] = {
    {"string", ValueType::kString},
    {"octets", ValueType::kOctets},
    {"ipaddr", ValueType::kIpAddr},
    {"ipv6addr", ValueType::kIpv6Addr},
    {"ipv6prefix", ValueType::kIpv6Prefix},
    {"ipv4prefix", ValueType::kIpv4Prefix},
    {"integer", ValueType::kInteger},
    {"integer64", ValueType::kInteger64},
    {"date", ValueType::kDate},
    {"ifid", ValueType::kIfId},
    {"byte", ValueType::kByte},
    {"short", ValueType::kShort},
    {"signed", ValueType::kSigned},
    {"ether", ValueType::kEther},
    {"combo-ip", ValueType::kComboIp},
    {"abinary", ValueType::kAbinary},
    {"tlv", ValueType::kTlv},
    {"vsa", ValueType::kVsa},
    {"extended", ValueType::kExtended},
    {"long-extended", ValueType::kLongExtended},
    {"evs", ValueType::kEvs},
    // Aliases FreeRADIUS accepts; listed after the canonical names so those win on output.
    {"uint8", ValueType::kByte},
    {"uint16", ValueType::kShort},
    {"uint32", ValueType::kInteger},
    {"uint64", ValueType::kInteger64},
    {"int32", ValueType::kSigned},
    {"cidr", ValueType::kIpv4Prefix},
};

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}
}  // namespace

std::string_view value_type_name(ValueType type) noexcept {
  for (const auto& [name, value] : kTypeNames) {
    if (value == type) return name;
  }
  return "octets";
}

std::optional<ValueType> value_type_from_name(std::string_view name) noexcept {
  for (const auto& [type_name, value] : kTypeNames) {
    if (iequals(type_name, name)) return value;
  }
  return std::nullopt;
}

}  // namespace bngkit::bng::radius
