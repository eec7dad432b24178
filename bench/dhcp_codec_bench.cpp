// DHCPv4 codec microbenchmarks: parse, serialize and reply build, in ns per message, on the
// real-capture fixtures of tests/fixtures/dhcp (dhclient, udhcpc, relayed, overloaded).
#include <benchmark/benchmark.h>

#include <bngkit/bng/dhcp/builder.hpp>
#include <bngkit/bng/dhcp/frame.hpp>
#include <bngkit/bng/dhcp/message.hpp>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

using namespace bngkit::bng::dhcp;

// A fixture file as bytes: hex digits, '#' comments. Frames are reduced to their payload
// unless `whole_frame`.
std::vector<std::uint8_t> fixture(const std::string& name, bool whole_frame = false) {
  std::ifstream in(std::string(BNGKIT_DHCP_FIXTURES) + "/" + name);
  if (!in) {
    std::fprintf(stderr, "missing fixture %s\n", name.c_str());
    std::exit(1);
  }
  std::vector<std::uint8_t> out;
  std::string line;
  while (std::getline(in, line)) {
    std::string digits;
    for (char c : line.substr(0, line.find('#'))) {
      if (std::isxdigit(static_cast<unsigned char>(c))) digits.push_back(c);
    }
    for (std::size_t i = 0; i + 1 < digits.size(); i += 2) {
      out.push_back(static_cast<std::uint8_t>(std::stoul(digits.substr(i, 2), nullptr, 16)));
    }
  }
  if (whole_frame || !name.ends_with(".frame.hex")) return out;
  auto frame = parse_udp_frame(out);
  if (!frame) std::exit(1);
  return {frame->payload.begin(), frame->payload.end()};
}

Message message(const std::string& name) {
  auto m = Message::parse(fixture(name));
  if (!m) std::exit(1);
  return *m;
}

void parse(benchmark::State& state, const char* name, Validation validation) {
  const auto bytes = fixture(name);
  for (auto _ : state) {
    auto m = Message::parse(bytes, validation);
    benchmark::DoNotOptimize(m);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes.size()));
}
BENCHMARK_CAPTURE(parse, dhclient_discover, "dhclient-discover.frame.hex", Validation::strict);
BENCHMARK_CAPTURE(parse, dhclient_discover_framing, "dhclient-discover.frame.hex",
                  Validation::framing);
BENCHMARK_CAPTURE(parse, udhcpc_request, "udhcpc-request.frame.hex", Validation::strict);
BENCHMARK_CAPTURE(parse, relayed_option82, "rfc3046-relayed-request.dhcp.hex", Validation::strict);
BENCHMARK_CAPTURE(parse, dnsmasq_overloaded_offer, "dnsmasq-offer-overload.frame.hex",
                  Validation::strict);

void serialize(benchmark::State& state, const char* name) {
  const Message m = message(name);
  std::vector<std::uint8_t> out;
  for (auto _ : state) {
    auto r = m.serialize_into(out);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(serialize, dnsmasq_ack, "dnsmasq-ack.frame.hex");
BENCHMARK_CAPTURE(serialize, dnsmasq_overloaded_offer, "dnsmasq-offer-overload.frame.hex");

ReplyParams params() {
  ReplyParams p;
  p.server_id = Ipv4(10, 200, 0, 1);
  p.your_ip = Ipv4(10, 200, 0, 150);
  p.lease_time = 3600;
  p.renewal_time = 1800;
  p.rebinding_time = 3150;
  p.options = {{opt::subnet_mask, encode_ip(Ipv4(255, 255, 255, 0))},
               {opt::router, encode_ip(Ipv4(10, 200, 0, 1))},
               {opt::domain_name_server, encode_ip(Ipv4(10, 200, 0, 1))},
               {opt::domain_name, encode_string("isp.example")},
               {opt::broadcast_address, encode_ip(Ipv4(10, 200, 0, 255))}};
  return p;
}

// What a slow path does per DISCOVER: parse it, build the OFFER, serialize it.
void offer_round(benchmark::State& state, const char* name) {
  const auto bytes = fixture(name);
  const ReplyParams p = params();
  std::vector<std::uint8_t> out;
  for (auto _ : state) {
    auto request = Message::parse(bytes);
    auto offer = make_offer(*request, p);
    auto r = offer->serialize_into(out);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(offer_round, udhcpc_discover, "udhcpc-discover.frame.hex");
BENCHMARK_CAPTURE(offer_round, relayed_discover, "dhcrelay-discover.frame.hex");

void build_offer(benchmark::State& state) {
  const Message request = message("udhcpc-discover.frame.hex");
  const ReplyParams p = params();
  for (auto _ : state) {
    auto offer = make_offer(request, p);
    benchmark::DoNotOptimize(offer);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(build_offer);

void relay_insert(benchmark::State& state) {
  const Message request = message("udhcpc-discover-unrelayed.frame.hex");
  RelayAgentInfo info;
  const std::string cid = "olt-7 eth 1/1/03/07:100";
  info.set(rai::circuit_id, std::vector<std::uint8_t>(cid.begin(), cid.end()));
  info.set(rai::remote_id, std::vector<std::uint8_t>{2, 0, 0, 0, 0x10, 4});
  for (auto _ : state) {
    Message copy = request;
    auto r = insert_relay_agent_info(copy, info, Ipv4(10, 201, 0, 1));
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(relay_insert);

void frame_parse(benchmark::State& state) {
  const auto bytes = fixture("dnsmasq-ack.frame.hex", true);
  for (auto _ : state) {
    auto f = parse_udp_frame(bytes);
    benchmark::DoNotOptimize(f);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(frame_parse);

void frame_build(benchmark::State& state) {
  const auto bytes = fixture("dnsmasq-ack.frame.hex", true);
  const auto parsed = parse_udp_frame(bytes);
  for (auto _ : state) {
    auto f = build_udp_frame(parsed->headers, parsed->payload);
    benchmark::DoNotOptimize(f);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(frame_build);

}  // namespace

BENCHMARK_MAIN();
