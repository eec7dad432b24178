// Endpoint parsing and formatting.
#include <bngkit/fanout/endpoint.hpp>
#include <bngkit/fanout/selector.hpp>

#include <arpa/inet.h>

#include <charconv>

namespace bngkit::fanout {

Result<std::uint32_t> Endpoint::parse_address(std::string_view text) {
  std::string s(text);
  in_addr a{};
  if (::inet_pton(AF_INET, s.c_str(), &a) != 1) {
    return make_error(std::errc::invalid_argument, "\"" + s + "\" is not an IPv4 address");
  }
  return a.s_addr;
}

Result<Endpoint> Endpoint::parse(std::string_view text, bool allow_port_zero) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return make_error(std::errc::invalid_argument,
                      "\"" + std::string(text) + "\" is not address:port (e.g. 10.0.1.10:9000)");
  }
  auto addr = parse_address(text.substr(0, colon));
  if (!addr) return addr.error();
  const auto port_text = text.substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || end != port_text.data() + port_text.size() || port > 65535 ||
      (port == 0 && !allow_port_zero)) {
    return make_error(std::errc::invalid_argument, "\"" + std::string(port_text) + "\" in \"" +
                                                       std::string(text) +
                                                       "\" is not a port (1-65535)");
  }
  return Endpoint{*addr, static_cast<std::uint16_t>(port)};
}

std::string Endpoint::address_string() const {
  char buf[INET_ADDRSTRLEN] = {};
  in_addr a{};
  a.s_addr = address_be;
  ::inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

std::string Endpoint::to_string() const { return address_string() + ":" + std::to_string(port); }

std::size_t EndpointHash::operator()(const Endpoint& e) const noexcept {
  return static_cast<std::size_t>(endpoint_key(e));
}

}  // namespace bngkit::fanout
