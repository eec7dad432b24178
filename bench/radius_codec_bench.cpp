// RADIUS codec microbenchmarks: ns per decode (parse, access-line VSAs), per encode (serialize,
// a BNG's Access-Request with hidden password, VSAs and Message-Authenticator; an
// Accounting-Request with its Request Authenticator), per reply check, and the MD5 floor all
// signing stands on. Fixtures come from tests/fixtures/radius.
#include <benchmark/benchmark.h>

#include <bngkit/bng/radius/auth.hpp>
#include <bngkit/bng/radius/dictionary.hpp>
#include <bngkit/bng/radius/packet.hpp>
#include <fstream>
#include <string>
#include <vector>

namespace {

using namespace bngkit::bng::radius;  // NOLINT: benchmark brevity
using bngkit::bng::Ipv4;

std::vector<std::uint8_t> fixture(const std::string& name) {
  std::ifstream in(std::string(BNGKIT_RADIUS_FIXTURES) + "/" + name + ".hex");
  std::string line;
  std::string hex;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] != '#') hex += line;
  }
  auto bytes = from_hex(hex);
  if (!bytes || bytes->empty()) {
    std::fprintf(stderr, "radius bench: fixture %s unreadable\n", name.c_str());
    std::abort();
  }
  return *bytes;
}

void BM_Parse(benchmark::State& state, const char* name) {
  const auto wire = fixture(name);
  for (auto _ : state) {
    auto packet = Packet::parse(wire);
    benchmark::DoNotOptimize(packet);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * wire.size()));
  state.counters["octets"] = static_cast<double>(wire.size());
}
BENCHMARK_CAPTURE(BM_Parse, access_request_bbf_254B, "radclient_access_request_bbf");
BENCHMARK_CAPTURE(BM_Parse, accounting_start_182B, "radclient_accounting_start");
BENCHMARK_CAPTURE(BM_Parse, rfc2865_access_request_56B, "rfc2865_7_1_access_request");

void BM_ParseMalformed(benchmark::State& state) {
  // The error path: an attribute running past the end, with its message built.
  auto wire = fixture("radclient_access_request_bbf");
  wire[wire.size() - 17] = 40;  // Message-Authenticator's length octet
  for (auto _ : state) {
    auto packet = Packet::parse(wire);
    benchmark::DoNotOptimize(packet);
  }
}
BENCHMARK(BM_ParseMalformed);

void BM_Serialize(benchmark::State& state) {
  const Packet packet = *Packet::parse(fixture("radclient_access_request_bbf"));
  std::vector<std::uint8_t> out(kMaxPacketSize);
  for (auto _ : state) {
    auto written = packet.serialize_to(out);
    benchmark::DoNotOptimize(written);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_Serialize);

void BM_ReadAccessLine(benchmark::State& state) {
  const Packet packet = *Packet::parse(fixture("radclient_access_request_bbf"));
  for (auto _ : state) {
    auto line = read_access_line(packet);
    benchmark::DoNotOptimize(line);
  }
}
BENCHMARK(BM_ReadAccessLine);

void BM_EncodeAccessRequest(benchmark::State& state) {
  // What a BNG sends per subscriber login: build, hide the password, add the access line,
  // serialize and sign with Message-Authenticator.
  AccessLine line;
  line.circuit_id = "olt-1 eth 0/3:100.200";
  line.remote_id = "cpe-0042";
  line.actual_rate_up = 100000000;
  line.actual_rate_down = 1000000000;
  const Authenticator auth = *random_authenticator();
  for (auto _ : state) {
    Packet request(Code::kAccessRequest, 17, auth);
    (void)request.add(attr::kUserName, "subscriber@isp.example");
    (void)set_user_password(request, "correct horse battery staple", "testing123");
    request.add_ipaddr(attr::kNasIpAddress, Ipv4(192, 0, 2, 1));
    request.add_integer(attr::kNasPortType, static_cast<std::uint32_t>(NasPortType::kEthernet));
    request.add_integer(attr::kServiceType, static_cast<std::uint32_t>(ServiceType::kFramedUser));
    (void)request.add(attr::kNasPortId, "olt-1/0/3:100.200");
    (void)request.add(attr::kCallingStationId, "02:00:5e:00:53:01");
    (void)add_access_line(request, line);
    auto wire = encode(request, "testing123", {.add_message_authenticator = true});
    benchmark::DoNotOptimize(wire);
  }
}
BENCHMARK(BM_EncodeAccessRequest);

void BM_EncodeAccountingInterim(benchmark::State& state) {
  for (auto _ : state) {
    Packet acct(Code::kAccountingRequest, 38);
    acct.add_integer(attr::kAcctStatusType,
                     static_cast<std::uint32_t>(AcctStatusType::kInterimUpdate));
    (void)acct.add(attr::kAcctSessionId, "0000002a-5f3e");
    (void)acct.add(attr::kUserName, "subscriber@isp.example");
    acct.add_integer(attr::kAcctSessionTime, 3600);
    acct.add_integer(attr::kAcctInputOctets, 123456789);
    acct.add_integer(attr::kAcctOutputOctets, 987654321);
    acct.add_integer(attr::kAcctInputGigawords, 1);
    acct.add_integer(attr::kAcctOutputGigawords, 2);
    acct.add_integer(attr::kEventTimestamp, 1700003600);
    auto wire = encode(acct, "testing123");
    benchmark::DoNotOptimize(wire);
  }
}
BENCHMARK(BM_EncodeAccountingInterim);

void BM_VerifyAccessAccept(benchmark::State& state) {
  // Response Authenticator (MD5) plus Message-Authenticator (HMAC-MD5).
  const Packet request = *Packet::parse(fixture("radclient_access_request_bbf"));
  const auto reply = fixture("ref_access_accept");
  for (auto _ : state) {
    auto verified = verify_response(reply, request.authenticator, "testing123");
    benchmark::DoNotOptimize(verified);
  }
}
BENCHMARK(BM_VerifyAccessAccept);

void BM_VerifyAccountingRequest(benchmark::State& state) {
  const auto wire = fixture("radclient_accounting_start");
  for (auto _ : state) {
    auto verified = verify_request(wire, "testing123");
    benchmark::DoNotOptimize(verified);
  }
}
BENCHMARK(BM_VerifyAccountingRequest);

void BM_HidePassword(benchmark::State& state) {
  const std::string password(static_cast<std::size_t>(state.range(0)), 'p');
  const Authenticator auth = *random_authenticator();
  for (auto _ : state) {
    auto hidden = hide_password(password, "testing123", auth);
    benchmark::DoNotOptimize(hidden);
  }
}
BENCHMARK(BM_HidePassword)->Arg(8)->Arg(128);

void BM_Md5(benchmark::State& state) {
  const std::vector<std::uint8_t> data(static_cast<std::size_t>(state.range(0)), 0x5a);
  for (auto _ : state) {
    auto digest = md5({data});
    benchmark::DoNotOptimize(digest);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_Md5)->Arg(32)->Arg(256);

void BM_FormatForLog(benchmark::State& state) {
  const Dictionary dictionary;
  const Packet packet = *Packet::parse(fixture("radclient_access_request_bbf"));
  for (auto _ : state) {
    auto text = dictionary.format(packet);
    benchmark::DoNotOptimize(text);
  }
}
BENCHMARK(BM_FormatForLog);

}  // namespace

BENCHMARK_MAIN();
