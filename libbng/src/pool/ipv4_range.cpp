// Parsing and printing of Ipv4Range and Ipv4Network.
#include <bngkit/bng/pool/ipv4_range.hpp>
#include <charconv>

namespace bngkit::bng::pool {

std::optional<Ipv4Range> Ipv4Range::parse(std::string_view text) {
  const auto dash = text.find('-');
  if (dash == std::string_view::npos) {
    auto a = Ipv4::parse(text);
    if (!a) return std::nullopt;
    return Ipv4Range{*a, *a};
  }
  auto first = Ipv4::parse(text.substr(0, dash));
  auto last = Ipv4::parse(text.substr(dash + 1));
  if (!first || !last || *last < *first) return std::nullopt;
  return Ipv4Range{*first, *last};
}

std::string Ipv4Range::to_string() const {
  if (first == last) return first.to_string();
  return first.to_string() + "-" + last.to_string();
}

std::optional<Ipv4Network> Ipv4Network::parse(std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto a = Ipv4::parse(text.substr(0, slash));
  const auto digits = text.substr(slash + 1);
  unsigned prefix = 0;
  if (!a || digits.empty() || digits.size() > 2 || (digits.size() == 2 && digits[0] == '0')) {
    return std::nullopt;
  }
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
  if (ec != std::errc{} || end != digits.data() + digits.size() || prefix > 32) {
    return std::nullopt;
  }
  return Ipv4Network{*a, static_cast<std::uint8_t>(prefix)};
}

std::string Ipv4Network::to_string() const {
  return address.to_string() + "/" + std::to_string(prefix_length);
}

}  // namespace bngkit::bng::pool
