// RADIUS dictionary: the built-in constexpr tables, FreeRADIUS dictionary files (fixtures and,
// when installed, Debian's freeradius-common), errors naming file:line, text dumps and
// building attributes from names.
#include <gtest/gtest.h>

#include <algorithm>
#include <bngkit/bng/radius/auth.hpp>
#include <bngkit/bng/radius/dictionary.hpp>
#include <string_view>

#include "radius_test_util.hpp"

namespace bngkit::bng::radius {
namespace {

using test::fixture;

// The constexpr table is data the compiler can check.
constexpr bool builtin_sorted_and_unique() {
  for (std::size_t i = 1; i < std::size(kBuiltinAttributes); ++i) {
    const auto& a = kBuiltinAttributes[i - 1];
    const auto& b = kBuiltinAttributes[i];
    if (a.vendor > b.vendor || (a.vendor == b.vendor && a.number >= b.number)) return false;
  }
  return true;
}
static_assert(builtin_sorted_and_unique());
static_assert(find_builtin_attribute(0, attr::kUserPassword)->encrypt == Encryption::kUserPassword);
static_assert(find_builtin_attribute(0, attr::kFramedIpv6Prefix)->type == ValueType::kIpv6Prefix);
static_assert(find_builtin_attribute(0, attr::kFramedInterfaceId)->type == ValueType::kIfId);
static_assert(find_builtin_attribute(0, attr::kEventTimestamp)->type == ValueType::kDate);
static_assert(find_builtin_attribute(vendor::kAdslForum, bbf::kAgentCircuitId)->name ==
              "ADSL-Agent-Circuit-Id");
static_assert(find_builtin_attribute(0, 17) == nullptr);
static_assert(builtin_value_name(0, attr::kAcctStatusType, 3) == "Interim-Update");
static_assert(builtin_value_name(0, attr::kErrorCause, 503) == "Session-Context-Not-Found");

struct Named {
  std::uint32_t number;
  std::string_view name;
};

TEST(RadiusBuiltinDictionary, ConstantsAgreeWithTheTable) {
  const Named standard[] = {
      {attr::kUserName, "User-Name"},
      {attr::kChapPassword, "CHAP-Password"},
      {attr::kNasIpAddress, "NAS-IP-Address"},
      {attr::kServiceType, "Service-Type"},
      {attr::kFramedIpAddress, "Framed-IP-Address"},
      {attr::kVendorSpecific, "Vendor-Specific"},
      {attr::kSessionTimeout, "Session-Timeout"},
      {attr::kCallingStationId, "Calling-Station-Id"},
      {attr::kProxyState, "Proxy-State"},
      {attr::kAcctStatusType, "Acct-Status-Type"},
      {attr::kAcctTerminateCause, "Acct-Terminate-Cause"},
      {attr::kAcctInputGigawords, "Acct-Input-Gigawords"},
      {attr::kChapChallenge, "CHAP-Challenge"},
      {attr::kNasPortType, "NAS-Port-Type"},
      {attr::kTunnelPassword, "Tunnel-Password"},
      {attr::kEapMessage, "EAP-Message"},
      {attr::kMessageAuthenticator, "Message-Authenticator"},
      {attr::kAcctInterimInterval, "Acct-Interim-Interval"},
      {attr::kNasPortId, "NAS-Port-Id"},
      {attr::kNasIpv6Address, "NAS-IPv6-Address"},
      {attr::kFramedIpv6Pool, "Framed-IPv6-Pool"},
      {attr::kErrorCause, "Error-Cause"},
      {attr::kDelegatedIpv6Prefix, "Delegated-IPv6-Prefix"},
      {attr::kStatefulIpv6AddressPool, "Stateful-IPv6-Address-Pool"},
  };
  for (const auto& [number, name] : standard) {
    const auto* def = find_builtin_attribute(0, number);
    ASSERT_NE(def, nullptr) << name;
    EXPECT_EQ(def->name, name);
  }
  const Named bbf_attrs[] = {
      {bbf::kAgentRemoteId, "ADSL-Agent-Remote-Id"},
      {bbf::kActualDataRateDownstream, "Actual-Data-Rate-Downstream"},
      {bbf::kActualInterleavingDelayDownstream, "Actual-Interleaving-Delay-Downstream"},
      {bbf::kAccessLoopEncapsulation, "Access-Loop-Encapsulation"},
      {bbf::kIwfSession, "IWF-Session"},
  };
  for (const auto& [number, name] : bbf_attrs) {
    const auto* def = find_builtin_attribute(vendor::kAdslForum, number);
    ASSERT_NE(def, nullptr) << name;
    EXPECT_EQ(def->name, name);
  }
}

TEST(RadiusBuiltinDictionary, EnumsAgreeWithValueNames) {
  const Dictionary dict;
  auto name = [&](std::uint8_t attribute, auto value) {
    return dict.value_name(0, attribute, static_cast<std::uint64_t>(value)).value_or("?");
  };
  EXPECT_EQ(name(attr::kAcctStatusType, AcctStatusType::kStart), "Start");
  EXPECT_EQ(name(attr::kAcctStatusType, AcctStatusType::kAccountingOff), "Accounting-Off");
  EXPECT_EQ(name(attr::kAcctTerminateCause, AcctTerminateCause::kAdminReset), "Admin-Reset");
  EXPECT_EQ(name(attr::kAcctTerminateCause, AcctTerminateCause::kPortDisabled), "Port-Disabled");
  EXPECT_EQ(name(attr::kServiceType, ServiceType::kFramedUser), "Framed-User");
  EXPECT_EQ(name(attr::kServiceType, ServiceType::kAuthorizeOnly), "Authorize-Only");
  EXPECT_EQ(name(attr::kFramedProtocol, FramedProtocol::kPpp), "PPP");
  EXPECT_EQ(name(attr::kNasPortType, NasPortType::kEthernet), "Ethernet");
  EXPECT_EQ(name(attr::kNasPortType, NasPortType::kPppoeovlan), "PPPoEoVLAN");
  EXPECT_EQ(name(attr::kAcctAuthentic, AcctAuthentic::kRadius), "RADIUS");
  EXPECT_EQ(name(attr::kErrorCause, ErrorCause::kUnsupportedAttribute), "Unsupported-Attribute");
  EXPECT_EQ(name(attr::kErrorCause, ErrorCause::kMultipleSessionSelectionUnsupported),
            "Multiple-Session-Selection-Unsupported");
  EXPECT_EQ(dict.value_of(0, attr::kAcctStatusType, "interim-update"), 3u);  // case-insensitive
  EXPECT_FALSE(dict.value_name(0, attr::kAcctStatusType, 99).has_value());
  EXPECT_FALSE(dict.value_of(0, attr::kUserName, "Start").has_value());
}

TEST(RadiusDictionary, BuiltinLookups) {
  const Dictionary dict;
  EXPECT_EQ(dict.attribute_count(), std::size(kBuiltinAttributes));
  EXPECT_EQ(dict.value_count(), std::size(kBuiltinValues));
  EXPECT_EQ(dict.find("user-name")->number, attr::kUserName);
  EXPECT_EQ(dict.find("ADSL-Agent-Circuit-Id")->vendor, vendor::kAdslForum);
  EXPECT_EQ(dict.find_vendor("adsl-forum")->id, vendor::kAdslForum);
  EXPECT_EQ(dict.find_vendor(vendor::kAdslForum)->name, "ADSL-Forum");
  EXPECT_FALSE(dict.find("No-Such-Attribute").has_value());
  EXPECT_FALSE(dict.find(0, 17).has_value());
  const Dictionary empty(Dictionary::Seed::kEmpty);
  EXPECT_EQ(empty.attribute_count(), 0u);
  EXPECT_FALSE(empty.find("User-Name").has_value());
}

TEST(RadiusDictionary, LoadsFreeRadiusSyntaxFromFixtures) {
  Dictionary dict;
  auto stats = dict.load_file(test::fixture_dir() / "dict" / "dictionary.bngkit-test");
  ASSERT_TRUE(stats.ok()) << stats.error().message();
  EXPECT_EQ(stats->files, 2u);  // the optional $INCLUDE- is missing and skipped
  EXPECT_EQ(stats->vendors, 2u);
  EXPECT_EQ(stats->attributes, 10u);
  EXPECT_EQ(stats->values, 6u);
  EXPECT_EQ(stats->skipped, 3u);  // the TLV member, the dotted attribute and its VALUE

  const auto mode = dict.find("example-mode");
  ASSERT_TRUE(mode.has_value());
  EXPECT_EQ(mode->vendor, 32473u);
  EXPECT_EQ(mode->number, 1u);
  EXPECT_EQ(mode->type, ValueType::kInteger);
  EXPECT_EQ(dict.value_name(32473, 1, 1), "Fast");  // defined before its ATTRIBUTE
  EXPECT_EQ(dict.value_name(32473, 1, 2), "Slow");
  const auto secret = dict.find("Example-Secret");
  EXPECT_TRUE(secret->has_tag);
  EXPECT_EQ(secret->encrypt, Encryption::kTunnelPassword);
  EXPECT_EQ(dict.find("Example-Flags")->type, ValueType::kByte);  // "Byte": types ignore case
  EXPECT_EQ(dict.find("Example-Group")->type, ValueType::kTlv);
  EXPECT_FALSE(dict.find("Example-Group-Member").has_value());
  EXPECT_FALSE(dict.find("Example-Group-Other").has_value());
  const auto wide = dict.find("Example-Wide-Tag");
  EXPECT_EQ(wide->vendor, 32474u);
  EXPECT_EQ(wide->number, 300u);
  EXPECT_EQ(wide->fixed_length, 4);
  const auto format = dict.vendor_format(32474);
  EXPECT_EQ(format.type_size, 2);
  EXPECT_EQ(format.length_size, 1);
  EXPECT_EQ(dict.find("Example-Standard")->vendor, 0u);
  EXPECT_EQ(dict.value_name(0, 200, 1), "On");      // the first name of a number is shown...
  EXPECT_EQ(dict.value_of(0, 200, "Enabled"), 1u);  // ...aliases still parse
  // The built-ins are still there.
  EXPECT_EQ(dict.find("User-Name")->number, 1u);
}

TEST(RadiusDictionary, BuildsAndPrintsVendorAttributesFromLoadedFiles) {
  Dictionary dict;
  ASSERT_TRUE(dict.load_file(test::fixture_dir() / "dict" / "dictionary.bngkit-test").ok());
  auto mode = dict.make("Example-Mode", "Slow");
  ASSERT_TRUE(mode.ok()) << mode.error().message();
  EXPECT_EQ(to_hex(mode->value()), "0x00007ed9010600000002");
  EXPECT_EQ(dict.format(*mode), "Example-Mode = Slow");
  auto wide = dict.make("Example-Wide-Tag", "0x01020304");
  ASSERT_TRUE(wide.ok()) << wide.error().message();
  // 2-octet type, 1-octet length.
  EXPECT_EQ(to_hex(wide->value()), "0x00007eda012c0701020304");
  EXPECT_EQ(dict.format(*wide), "Example-Wide-Tag = 0x01020304");
  EXPECT_EQ(dict.make("Example-Wide-Tag", "0x010203").error().context,
            "Example-Wide-Tag: octets value has 3 octets, expected 4");
  EXPECT_EQ(dict.make("Example-Flags", "256").error().context,
            "Example-Flags: '256' is not a valid byte");
}

TEST(RadiusDictionary, ErrorsNameFileAndLine) {
  Dictionary dict;
  const auto before = dict.attribute_count();
  auto loaded = dict.load_file(test::fixture_dir() / "dict" / "broken" / "dictionary");
  ASSERT_FALSE(loaded.ok());
  const std::string broken = (test::fixture_dir() / "dict" / "broken").string();
  EXPECT_EQ(loaded.error().context,
            broken + "/dictionary.bad-type:4: unknown attribute type 'float'");
  // All or nothing: Broken-Good from line 3 was not kept.
  EXPECT_EQ(dict.attribute_count(), before);
  EXPECT_FALSE(dict.find("Broken-Good").has_value());
  EXPECT_FALSE(dict.find_vendor("Broken").has_value());

  auto missing = dict.load_file(test::fixture_dir() / "dict" / "no-such-dictionary");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, std::errc::no_such_file_or_directory);
  EXPECT_NE(missing.error().context.find("cannot open dictionary"), std::string::npos);

  auto include_missing = dict.load_string("\n$INCLUDE nowhere.dict\n", "main.dict", "/nonexistent");
  ASSERT_FALSE(include_missing.ok());
  EXPECT_EQ(include_missing.error().context,
            "main.dict:2: cannot open dictionary /nonexistent/nowhere.dict");
}

TEST(RadiusDictionary, ErrorMessagesForEachMistake) {
  struct Case {
    const char* text;
    const char* error;
  };
  const Case cases[] = {
      {"ATTRIBUTE Foo 1", "t.dict:1: ATTRIBUTE needs a name, a number, a type and optional flags"},
      {"ATTRIBUTE Foo x integer", "t.dict:1: bad attribute number 'x'"},
      {"ATTRIBUTE Foo 5 float", "t.dict:1: unknown attribute type 'float'"},
      {"ATTRIBUTE Foo 5 octets[0]", "t.dict:1: bad size in type 'octets[0]'"},
      {"ATTRIBUTE Foo 5 integer bogus", "t.dict:1: unknown flag or vendor 'bogus'"},
      {"ATTRIBUTE Foo 5 string encrypt=9", "t.dict:1: unknown encryption 'encrypt=9'"},
      {"\n\nVALUE Nope Yes 1", "t.dict:3: VALUE for unknown attribute 'Nope'"},
      {"VALUE Service-Type Big", "t.dict:1: VALUE needs an attribute, a name and a number"},
      {"VALUE Service-Type Big 4294967296",
       "t.dict:1: value 4294967296 does not fit integer attribute Service-Type"},
      {"VALUE Service-Type Big 12x", "t.dict:1: bad value number '12x'"},
      {"VENDOR Foo", "t.dict:1: VENDOR needs a name, a number and an optional format=t,l"},
      {"VENDOR Foo 0", "t.dict:1: bad vendor number '0' (1..16777215)"},
      {"VENDOR Foo 16777216", "t.dict:1: bad vendor number '16777216' (1..16777215)"},
      {"VENDOR Foo 9 format=3,1", "t.dict:1: bad vendor format 'format=3,1'"},
      {"VENDOR Foo 9 format=2,1,c", "t.dict:1: bad vendor format 'format=2,1,c'"},
      {"VENDOR Foo 9 frmat=1,1", "t.dict:1: bad vendor format 'frmat=1,1'"},
      {"BEGIN-VENDOR Nobody", "t.dict:1: BEGIN-VENDOR for unknown vendor 'Nobody'"},
      {"VENDOR A 9\nBEGIN-VENDOR A\nBEGIN-VENDOR A",
       "t.dict:3: BEGIN-VENDOR A inside BEGIN-VENDOR A"},
      {"VENDOR A 9\nBEGIN-VENDOR A\nATTRIBUTE A-Big 256 integer",
       "t.dict:3: attribute number 256 does not fit the 1-octet type of its vendor"},
      {"VENDOR A 9\nBEGIN-VENDOR A\n", "t.dict:2: BEGIN-VENDOR A has no END-VENDOR"},
      {"VENDOR A 9\nVENDOR B 10\nBEGIN-VENDOR A\nEND-VENDOR B",
       "t.dict:4: END-VENDOR B closes BEGIN-VENDOR A"},
      {"END-VENDOR A", "t.dict:1: END-VENDOR A without BEGIN-VENDOR"},
      {"BEGIN-TLV User-Name", "t.dict:1: BEGIN-TLV User-Name: no such tlv attribute"},
      {"ATTRIBUTE T 250 tlv\nBEGIN-TLV T\n", "t.dict: BEGIN-TLV T has no END-TLV"},
      {"END-TLV T", "t.dict:1: END-TLV T does not close the open BEGIN-TLV"},
      {"PROTOCOL RADIUS 1", "t.dict:1: unknown keyword 'PROTOCOL'"},
      {"$INCLUDE", "t.dict:1: $INCLUDE needs exactly a file name"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    Dictionary dict;
    auto loaded = dict.load_string(c.text, "t.dict");
    ASSERT_FALSE(loaded.ok());
    EXPECT_EQ(loaded.error().context, c.error);
    EXPECT_EQ(loaded.error().code, std::errc::invalid_argument);
  }
}

TEST(RadiusDictionary, IncludeLoopsAreCut) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("bngkit-radius-dict-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    std::ofstream(dir / "a") << "$INCLUDE b\n";
    std::ofstream(dir / "b") << "# b\n$INCLUDE a\n";
  }
  Dictionary dict;
  auto loaded = dict.load_file(dir / "a");
  std::filesystem::remove_all(dir);
  ASSERT_FALSE(loaded.ok());
  // The innermost file (depth 32 is "a" again) names its line.
  EXPECT_EQ(loaded.error().context,
            (dir / "a").string() + ":1: $INCLUDE nested deeper than 32 (a loop?)");
}

TEST(RadiusDictionary, LaterDefinitionsReplaceEarlierOnes) {
  Dictionary dict;
  ASSERT_TRUE(dict.load_string("ATTRIBUTE Class 25 string\n"
                               "ATTRIBUTE My-Class-Alias 25 octets\n"
                               "ATTRIBUTE Dup 230 integer\n"
                               "ATTRIBUTE Dup 231 string\n"
                               "ATTRIBUTE Old-Style 9 integer ADSL-Forum\n",
                               "t.dict")
                  .ok());
  EXPECT_EQ(dict.find("Class")->type, ValueType::kString);        // redefined in place
  EXPECT_EQ(dict.find(0, 25)->name, "My-Class-Alias");            // the number's latest name
  EXPECT_EQ(dict.find("Dup")->number, 231u);                      // the name's latest number
  EXPECT_EQ(dict.find(0, 230)->name, "Dup");                      // still reachable by number
  EXPECT_EQ(dict.find("Old-Style")->vendor, vendor::kAdslForum);  // 5th field as vendor
}

TEST(RadiusDictionary, CopiesAreIndependent) {
  Dictionary a;
  Dictionary b = a;
  ASSERT_TRUE(b.load_string("ATTRIBUTE Only-In-B 240 integer", "b").ok());
  EXPECT_TRUE(b.find("Only-In-B").has_value());
  EXPECT_FALSE(a.find("Only-In-B").has_value());
  a = b;
  EXPECT_TRUE(a.find("Only-In-B").has_value());
  Dictionary c = std::move(b);
  EXPECT_EQ(c.find("only-in-b")->number, 240u);
}

TEST(RadiusDictionary, FormatsPacketsForLogsWithoutSecrets) {
  const Dictionary dict;
  auto request = Packet::parse(fixture("rfc2865_7_1_access_request"));
  ASSERT_TRUE(request.ok());
  EXPECT_EQ(dict.format(*request),
            "Access-Request id=0 length=56 authenticator=0x0f403f9473978057bd83d5cb98f4227a\n"
            "  User-Name = \"nemo\"\n"
            "  User-Password = <hidden, 16 octets>\n"
            "  NAS-IP-Address = 192.168.1.16\n"
            "  NAS-Port = 3");

  auto bbf = Packet::parse(fixture("radclient_access_request_bbf"));
  ASSERT_TRUE(bbf.ok());
  const std::string text = dict.format(*bbf);
  for (const char* line :
       {"  NAS-Port-Type = Ethernet\n", "  Service-Type = Framed-User\n",
        "  Framed-Protocol = PPP\n", "  ADSL-Agent-Circuit-Id = 0x6f6c742d312065746820302f333a31",
        "  ADSL-Agent-Remote-Id = 0x6370652d30303432\n",
        "  Actual-Data-Rate-Upstream = 100000000\n", "  Access-Loop-Encapsulation = 0x020100\n",
        "  Framed-Interface-Id = 0:0:0:1\n", "  Message-Authenticator = 0x677e1aeedbcfbc40"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << "\nin\n" << text;
  }
  EXPECT_EQ(text.find("correct horse"), std::string::npos);

  auto acct = Packet::parse(fixture("radclient_accounting_start"));
  const std::string acct_text = dict.format(*acct);
  for (const char* line :
       {"  Acct-Status-Type = Start\n", "  NAS-IPv6-Address = 2001:db8::1\n",
        "  Delegated-IPv6-Prefix = 2001:db8:1200::/56\n",
        "  Framed-IPv6-Prefix = 2001:db8:abcd:12::/64\n",
        "  Event-Timestamp = 2023-11-14T22:13:20Z\n", "  Acct-Authentic = RADIUS\n"}) {
    EXPECT_NE(acct_text.find(line), std::string::npos) << line << "\nin\n" << acct_text;
  }

  auto tunnel = Packet::parse(fixture("ref_access_accept_tunnel"));
  const std::string tunnel_text = dict.format(*tunnel);
  for (const char* line : {"  Tunnel-Type:1 = L2TP\n", "  Tunnel-Medium-Type:1 = IPv4\n",
                           "  Tunnel-Server-Endpoint:1 = \"192.0.2.50\"\n",
                           "  Tunnel-Password = <hidden, 35 octets>\n"}) {
    EXPECT_NE(tunnel_text.find(line), std::string::npos) << line << "\nin\n" << tunnel_text;
  }

  Packet odd(static_cast<Code>(99), 1);
  odd.add(*Attribute::make(200, std::vector<std::uint8_t>{1, 2}));
  odd.add(*make_vendor_specific(9, 3, std::vector<std::uint8_t>{7}));
  odd.add(*Attribute::make(attr::kVendorSpecific, std::vector<std::uint8_t>{0, 0, 0, 9, 1}));
  odd.add(Attribute::integer(attr::kFramedIpAddress, 1));
  odd.add(*Attribute::make(attr::kFramedIpAddress, std::vector<std::uint8_t>{1, 2, 3}));
  EXPECT_EQ(dict.format(odd),
            "Code-99 id=1 length=51 authenticator=0x00000000000000000000000000000000\n"
            "  Attr-200 = 0x0102\n"
            "  Vendor-9-Attr-3 = 0x07\n"
            "  Vendor-Specific = 0x0000000901\n"
            "  Framed-IP-Address = 0.0.0.1\n"
            "  Framed-IP-Address = 0x010203");
}

TEST(RadiusDictionary, MakesAttributesFromNames) {
  const Dictionary dict;
  struct Case {
    const char* name;
    const char* value;
    const char* formatted;
  };
  const Case cases[] = {
      {"Acct-Status-Type", "Interim-Update", "Acct-Status-Type = Interim-Update"},
      {"Acct-Status-Type", "3", "Acct-Status-Type = Interim-Update"},
      {"NAS-Port-Type", "pppoevlan", nullptr},
      {"NAS-Port-Type", "PPPoEoVLAN", "NAS-Port-Type = PPPoEoVLAN"},
      {"Framed-IP-Address", "198.51.100.23", "Framed-IP-Address = 198.51.100.23"},
      {"Delegated-IPv6-Prefix", "2001:db8:1200::/56", "Delegated-IPv6-Prefix = 2001:db8:1200::/56"},
      {"Event-Timestamp", "1700000000", "Event-Timestamp = 2023-11-14T22:13:20Z"},
      {"Class", "0x0102", "Class = 0x0102"},
      {"User-Name", "bob", "User-Name = \"bob\""},
      {"Tunnel-Type", "L2TP", "Tunnel-Type = L2TP"},
      {"ADSL-Agent-Circuit-Id", "eth 1/1", "ADSL-Agent-Circuit-Id = 0x65746820312f31"},
      {"Actual-Data-Rate-Upstream", "1000", "Actual-Data-Rate-Upstream = 1000"},
      {"Error-Cause", "Session-Context-Not-Found", "Error-Cause = Session-Context-Not-Found"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.name) + " " + c.value);
    auto attribute = dict.make(c.name, c.value);
    if (c.formatted == nullptr) {
      EXPECT_FALSE(attribute.ok());
      continue;
    }
    ASSERT_TRUE(attribute.ok()) << attribute.error().message();
    EXPECT_EQ(dict.format(*attribute), c.formatted);
  }
  EXPECT_EQ(to_hex(dict.make("Tunnel-Type", "L2TP")->value()), "0x00000003");
  EXPECT_EQ(dict.make("Nope", "1").error().context, "unknown attribute 'Nope'");
  EXPECT_EQ(dict.make("User-Password", "x").error().context,
            "User-Password is hidden with the shared secret: use auth.hpp to set it");
  EXPECT_EQ(dict.make("Framed-IP-Address", "300.1.1.1").error().context,
            "Framed-IP-Address: '300.1.1.1' is not a valid ipaddr");
  EXPECT_EQ(dict.make("Tunnel-Type", "16777216").error().context,
            "Tunnel-Type value 16777216 does not fit the 24 bits a tagged integer has");
}

// Debian's freeradius-common (scripts/install-deps.sh installs it): the whole stock dictionary
// must load, and agree with the built-in table wherever both define an attribute.
TEST(RadiusDictionary, LoadsTheFreeRadiusDictionaries) {
  const std::filesystem::path stock = "/usr/share/freeradius/dictionary";
  if (!std::filesystem::exists(stock)) {
    GTEST_SKIP() << "needs package freeradius-common (" << stock << ")";
  }
  Dictionary dict;
  auto stats = dict.load_file(stock);
  ASSERT_TRUE(stats.ok()) << stats.error().message();
  EXPECT_GT(stats->files, 150u);
  EXPECT_GT(stats->vendors, 150u);
  EXPECT_GT(stats->attributes, 5000u);
  EXPECT_GT(stats->values, 5000u);
  EXPECT_GT(dict.vendor_count(), 150u);
  for (const auto& builtin : kBuiltinAttributes) {
    SCOPED_TRACE(std::string(builtin.name));
    const auto loaded = dict.find(builtin.name);
    ASSERT_TRUE(loaded.has_value());
    EXPECT_EQ(loaded->vendor, builtin.vendor);
    EXPECT_EQ(loaded->number, builtin.number);
    EXPECT_EQ(loaded->type, builtin.type);
    EXPECT_EQ(loaded->encrypt, builtin.encrypt);
    EXPECT_EQ(loaded->has_tag, builtin.has_tag);
    EXPECT_EQ(loaded->concat, builtin.concat);
    EXPECT_EQ(loaded->fixed_length, builtin.fixed_length);
  }
  for (const auto& value : kBuiltinValues) {
    SCOPED_TRACE(std::string(value.name));
    EXPECT_EQ(dict.value_of(value.vendor, value.attribute, value.name), value.value);
  }
  // Extra vendors with other formats are usable.
  const auto usr = dict.find_vendor("USR");
  ASSERT_TRUE(usr.has_value());
  EXPECT_EQ(usr->type_size, 4);
  EXPECT_EQ(usr->length_size, 0);
  const auto wimax = dict.find_vendor("WiMAX");
  ASSERT_TRUE(wimax.has_value());
  EXPECT_TRUE(wimax->continuation);
  auto mikrotik = dict.make("Mikrotik-Rate-Limit", "10M/10M");
  ASSERT_TRUE(mikrotik.ok()) << mikrotik.error().message();
  EXPECT_EQ(dict.format(*mikrotik), "Mikrotik-Rate-Limit = \"10M/10M\"");
  auto cisco = dict.make("Cisco-AVPair", "subscriber:accounting-list=default");
  ASSERT_TRUE(cisco.ok());
  EXPECT_EQ(dict.format(*cisco), "Cisco-AVPair = \"subscriber:accounting-list=default\"");
}

}  // namespace
}  // namespace bngkit::bng::radius
