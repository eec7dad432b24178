// FRR's side of the announcer as data: bgpd's running config and `show bgp summary json`
// parsed, and the diff from what bgpd holds to what the BNG wants as vtysh commands.
#include <bngkit/bng/bgp/route_announcer.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <map>
#include <set>
#include <span>

namespace bngkit::bng::bgp {

namespace {

std::vector<std::string_view> split_words(std::string_view line) {
  std::vector<std::string_view> words;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    const auto start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') ++i;
    if (i > start) words.push_back(line.substr(start, i - start));
  }
  return words;
}

std::optional<std::uint32_t> parse_as(std::string_view s) {
  std::uint32_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// The rest of the line after `word`, trimmed (a description may hold spaces).
std::string_view rest_after(std::string_view line, std::string_view word) {
  auto at = line.find(word);
  if (at == std::string_view::npos) return {};
  auto rest = line.substr(at + word.size());
  while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
  while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\r')) rest.remove_suffix(1);
  return rest;
}

bool prefix_less(const Prefix& a, const Prefix& b) {
  if (a.address.to_host() != b.address.to_host()) return a.address.to_host() < b.address.to_host();
  return a.prefix_length < b.prefix_length;
}

std::uint64_t json_count(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) return 0;
  if (v->is_int64()) return v->as_int64() < 0 ? 0 : static_cast<std::uint64_t>(v->as_int64());
  if (v->is_uint64()) return v->as_uint64();
  return 0;
}

}  // namespace

std::vector<Prefix> canonical(std::vector<Prefix> prefixes) {
  for (auto& p : prefixes) p = p.normalized();
  std::sort(prefixes.begin(), prefixes.end(), prefix_less);
  prefixes.erase(std::unique(prefixes.begin(), prefixes.end()), prefixes.end());
  return prefixes;
}

Result<FrrBgpConfig> parse_running_config(std::string_view text) {
  FrrBgpConfig cfg;
  enum class Where { top, instance, other_block } where = Where::top;
  bool in_ipv4_unicast = false;
  bool seen_instance = false;
  // Flags bgpd prints only when they differ from the `frr defaults` profile's default.
  std::string profile = "traditional";
  std::optional<bool> requires_policy;
  std::optional<bool> import_check;
  std::map<std::string, bool, std::less<>> activated;  // explicit [no] neighbor X activate
  std::map<std::string, std::size_t, std::less<>> neighbor_at;
  auto neighbor = [&](std::string_view address) -> FrrNeighbor& {
    auto it = neighbor_at.find(address);
    if (it == neighbor_at.end()) {
      it = neighbor_at.emplace(std::string(address), cfg.neighbors.size()).first;
      cfg.neighbors.push_back(FrrNeighbor{std::string(address), {}, {}});
    }
    return cfg.neighbors[it->second];
  };
  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    auto eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    const auto line = text.substr(pos, eol - pos);
    pos = eol + 1;
    ++line_no;
    const auto words = split_words(line);
    if (words.empty() || words.front() == "!") continue;
    const bool indented = line.front() == ' ' || line.front() == '\t';
    if (!indented) {
      // A top-level line: `exit` closes the block it belongs to; a new block opens.
      in_ipv4_unicast = false;
      if (words.size() == 3 && words[0] == "frr" && words[1] == "defaults") {
        profile = std::string(words[2]);
        continue;
      }
      if (words.front() == "exit" || words.front() == "end") {
        where = Where::top;
        continue;
      }
      if (words.size() >= 3 && words[0] == "router" && words[1] == "bgp") {
        if (words.size() > 3) {  // `router bgp N vrf X` (or `view`): not the default VRF
          where = Where::other_block;
          continue;
        }
        auto as = parse_as(words[2]);
        if (!as) {
          return make_error(std::errc::invalid_argument, "running config line " + std::to_string(line_no) +
                                                             ": \"" + std::string(words[2]) + "\" is not an AS number");
        }
        if (seen_instance) {
          return make_error(std::errc::invalid_argument,
                            "running config line " + std::to_string(line_no) + ": a second default-VRF router bgp");
        }
        seen_instance = true;
        cfg.local_as = *as;
        where = Where::instance;
        continue;
      }
      where = Where::other_block;
      continue;
    }
    if (where != Where::instance) continue;
    if (words[0] == "address-family") {
      in_ipv4_unicast = words.size() >= 3 && words[1] == "ipv4" && words[2] == "unicast";
      continue;
    }
    if (words[0] == "exit-address-family") {
      in_ipv4_unicast = false;
      continue;
    }
    const bool negated = words.front() == "no";
    const auto flag = std::span(words).subspan(negated ? 1 : 0);  // "[no] bgp ...", "[no] neighbor ..."
    if (in_ipv4_unicast) {
      if (flag.size() == 3 && flag[0] == "neighbor" && flag[2] == "activate") {
        neighbor(flag[1]);
        activated[std::string(flag[1])] = !negated;
      } else if (words[0] == "network" && words.size() >= 2) {
        auto p = Prefix::parse(words[1]);
        if (!p) {
          return make_error(std::errc::invalid_argument, "running config line " + std::to_string(line_no) +
                                                             ": \"" + std::string(words[1]) +
                                                             "\" is not an IPv4 prefix");
        }
        cfg.networks.push_back(p->normalized());
      }
      continue;
    }
    if (words.size() == 3 && words[0] == "bgp" && words[1] == "router-id") {
      cfg.router_id = std::string(words[2]);
    } else if (flag.size() == 2 && flag[0] == "bgp" && flag[1] == "ebgp-requires-policy") {
      requires_policy = !negated;
    } else if (flag.size() == 3 && flag[0] == "bgp" && flag[1] == "network" && flag[2] == "import-check") {
      import_check = !negated;
    } else if (flag.size() == 3 && flag[0] == "bgp" && flag[1] == "default" && flag[2] == "ipv4-unicast") {
      cfg.default_ipv4_unicast = !negated;
    } else if (words.size() >= 3 && words[0] == "neighbor") {
      auto& n = neighbor(words[1]);
      if (words[2] == "remote-as" && words.size() >= 4) n.remote_as = std::string(words[3]);
      else if (words[2] == "description") n.description = std::string(rest_after(line, "description"));
    }
  }
  // FRR 8.4: RFC 8212 policy is off by default in the datacenter profile, on otherwise;
  // import-check is on in every profile.
  cfg.ebgp_requires_policy = requires_policy.value_or(profile != "datacenter");
  cfg.network_import_check = import_check.value_or(true);
  // A neighbour takes part in ipv4 unicast by default unless "no bgp default ipv4-unicast".
  for (auto& n : cfg.neighbors) {
    auto it = activated.find(n.address);
    n.ipv4_activated = it != activated.end() ? it->second : cfg.default_ipv4_unicast;
  }
  cfg.networks = canonical(std::move(cfg.networks));
  return cfg;
}

Result<std::vector<PeerStatus>> parse_bgp_summary(std::string_view json) {
  boost::system::error_code ec;
  auto value = boost::json::parse(json, ec);
  if (ec) return make_error(std::errc::invalid_argument, "show bgp summary json: not JSON: " + ec.message());
  if (!value.is_object()) return make_error(std::errc::invalid_argument, "show bgp summary json: not a JSON object");
  std::vector<PeerStatus> peers;
  const auto* af = value.as_object().if_contains("ipv4Unicast");
  if (af == nullptr) return peers;  // `{}`: no BGP instance (or no ipv4 unicast peer)
  if (!af->is_object()) return make_error(std::errc::invalid_argument, "show bgp summary json: ipv4Unicast is not an object");
  const auto* list = af->as_object().if_contains("peers");
  if (list == nullptr) return peers;
  if (!list->is_object()) return make_error(std::errc::invalid_argument, "show bgp summary json: peers is not an object");
  for (const auto& [address, v] : list->as_object()) {
    if (!v.is_object()) {
      return make_error(std::errc::invalid_argument,
                        "show bgp summary json: peer " + std::string(address) + " is not an object");
    }
    const auto& o = v.as_object();
    PeerStatus p;
    p.address = std::string(address);
    p.remote_as = static_cast<std::uint32_t>(json_count(o, "remoteAs"));
    const auto* state = o.if_contains("state");
    if (state == nullptr || !state->is_string()) {
      return make_error(std::errc::invalid_argument,
                        "show bgp summary json: peer " + p.address + " has no state");
    }
    p.state = std::string(state->as_string());
    p.prefixes_sent = json_count(o, "pfxSnt");
    p.prefixes_received = json_count(o, "pfxRcd");
    peers.push_back(std::move(p));
  }
  std::sort(peers.begin(), peers.end(), [](const PeerStatus& a, const PeerStatus& b) { return a.address < b.address; });
  return peers;
}

ChangePlan plan_changes(const SpeakerConfig& speaker, const std::vector<Prefix>& prefixes, const FrrBgpConfig& actual) {
  ChangePlan plan;
  FrrBgpConfig base = actual;
  // bgpd holds one default-VRF instance: another AS there has to go before ours can exist.
  if (actual.local_as && *actual.local_as != speaker.local_as) {
    plan.remove_instance = *actual.local_as;
    base = FrrBgpConfig{};
  }
  if (base.router_id != speaker.router_id) plan.router_commands.push_back("bgp router-id " + speaker.router_id);
  // RFC 8212 (FRR's default): an eBGP session without policy sends nothing. What the BNG
  // sends is exactly the `network` statements it controls, so no outbound policy is needed.
  if (base.ebgp_requires_policy) plan.router_commands.emplace_back("no bgp ebgp-requires-policy");
  // A `network` is only announced while the same prefix is in the RIB, unless import-check
  // is off. The BNG itself is the authority on what it serves: a pool may be connected,
  // unnumbered or held by XDP alone, and a subscriber's /32 is never in the RIB (the client
  // sits on the pool's connected subnet). Turning the check off keeps the announcements
  // independent of the kernel's routes and of staticd (no Null0 statics to keep in step).
  if (base.network_import_check) plan.router_commands.emplace_back("no bgp network import-check");

  auto wanted = speaker.neighbors;
  std::sort(wanted.begin(), wanted.end(), [](const Neighbor& a, const Neighbor& b) { return a.address < b.address; });
  std::set<std::string, std::less<>> wanted_addresses;
  for (const auto& n : wanted) wanted_addresses.insert(n.address);
  for (const auto& have : base.neighbors) {
    if (have.description == kNeighborDescription && !wanted_addresses.contains(have.address)) {
      plan.router_commands.push_back("no neighbor " + have.address);
    }
  }
  for (const auto& n : wanted) {
    auto have = std::find_if(base.neighbors.begin(), base.neighbors.end(),
                             [&](const FrrNeighbor& f) { return f.address == n.address; });
    const auto remote_as = std::to_string(n.remote_as);
    if (have == base.neighbors.end() || have->remote_as != remote_as) {
      plan.router_commands.push_back("neighbor " + n.address + " remote-as " + remote_as);
    }
    if (have == base.neighbors.end() || have->description != kNeighborDescription) {
      plan.router_commands.push_back("neighbor " + n.address + " description " + std::string(kNeighborDescription));
    }
  }

  // Without `bgp default ipv4-unicast` a neighbour exchanges no ipv4 routes until activated.
  for (const auto& n : wanted) {
    auto have = std::find_if(base.neighbors.begin(), base.neighbors.end(),
                             [&](const FrrNeighbor& f) { return f.address == n.address; });
    const bool active = have != base.neighbors.end() ? have->ipv4_activated : base.default_ipv4_unicast;
    if (!active) plan.ipv4_commands.push_back("neighbor " + n.address + " activate");
  }

  const auto want = canonical(prefixes);
  const auto have = canonical(base.networks);
  std::vector<Prefix> withdraw;
  std::vector<Prefix> announce;
  std::set_difference(have.begin(), have.end(), want.begin(), want.end(), std::back_inserter(withdraw), prefix_less);
  std::set_difference(want.begin(), want.end(), have.begin(), have.end(), std::back_inserter(announce), prefix_less);
  for (const auto& p : withdraw) plan.ipv4_commands.push_back("no network " + p.to_string());
  for (const auto& p : announce) plan.ipv4_commands.push_back("network " + p.to_string());
  return plan;
}

Result<void> validate(const SpeakerConfig& speaker) {
  std::vector<std::string> problems;
  if (speaker.local_as == 0) problems.emplace_back("local_as: must be an AS number from 1 to 4294967295");
  if (!dhcp::Ipv4::parse(speaker.router_id)) {
    problems.push_back("router_id: \"" + speaker.router_id + "\" is not an IPv4 address");
  }
  std::set<std::string, std::less<>> seen;
  for (const auto& n : speaker.neighbors) {
    if (!dhcp::Ipv4::parse(n.address)) problems.push_back("neighbors: \"" + n.address + "\" is not an IPv4 address");
    else if (!seen.insert(n.address).second) problems.push_back("neighbors: " + n.address + " is listed twice");
    if (n.remote_as == 0) problems.push_back("neighbors: " + n.address + " needs a remote_as from 1 to 4294967295");
  }
  if (problems.empty()) return ok();
  std::string all;
  for (const auto& p : problems) all += (all.empty() ? "" : "; ") + p;
  return make_error(std::errc::invalid_argument, all);
}

}  // namespace bngkit::bng::bgp
