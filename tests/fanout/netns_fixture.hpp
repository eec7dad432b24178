// The fixture of the fanout's network-namespace tests: a client -> fanout -> receivers
// topology, counting receivers, and a Fanout started inside the fanout namespace.
#pragma once

#include <bngkit/fanout/fanout.hpp>

#include <gtest/gtest.h>

#include "netns.hpp"

namespace bngkit::fanout {

using namespace std::chrono_literals;
using fotest::Receiver;
using fotest::Sender;
using fotest::Topology;
using fotest::wait_until;

constexpr std::uint16_t kListenPort = 5514;
constexpr std::uint16_t kReceiverPort = 9000;

inline Endpoint listen_endpoint() {
  return Endpoint::parse(std::string(Topology::kFanoutAddr) + ":" + std::to_string(kListenPort))
      .value();
}

inline std::uint32_t addr_be(const char* text) { return Endpoint::parse_address(text).value(); }

// One topology with receivers that count what they get, and a Fanout in the fanout
// namespace configured by each test, running engine `mode_`.
class NetnsFixture : public ::testing::Test {
 protected:
  void build(std::size_t receivers, bool echo_probes = false) {
    topo_ = std::make_unique<Topology>(receivers);
    ASSERT_TRUE(topo_->ok()) << topo_->error;
    for (std::size_t i = 0; i < receivers; ++i) {
      rx_.push_back(std::make_unique<Receiver>(
          topo_->receivers[i]->name(), Topology::receiver_endpoint(i, kReceiverPort), echo_probes));
      ASSERT_TRUE(rx_.back()->start());
    }
  }

  ListenerConfig listener(Policy policy, std::size_t first, std::size_t count) const {
    ListenerConfig l;
    l.name = "test";
    l.bind = listen_endpoint();
    l.interface = "f0";
    l.mode = mode_;
    l.policy = policy;
    l.settings.workers = 1;
    l.settings.recv_buf_size = 16 << 20;
    for (std::size_t i = first; i < first + count; ++i) {
      l.downstreams.push_back(
          {"r" + std::to_string(i), Topology::receiver_endpoint(i, kReceiverPort)});
    }
    return l;
  }

  /// Starts a Fanout on `config` in the fanout namespace; every listener must run the
  /// engine it asked for (no fallback) unless `allow_fallback`.
  void start(FanoutConfig config, bool allow_fallback = false) {
    if (config.tc.pin_path == TcConfig{}.pin_path) config.tc.pin_path = pin_path_;
    fanout_ = std::make_unique<Fanout>(std::move(config));
    auto r = fotest::in_netns(topo_->fanout->name(), [&] { return fanout_->start(); });
    ASSERT_TRUE(r.ok()) << r.error().message();
    if (allow_fallback) return;
    for (const auto& l : fanout_->status())
      ASSERT_EQ(l.mode, l.configured_mode) << l.fallback_reason;
  }

  void TearDown() override {
    if (fanout_) fanout_->stop();
    fanout_.reset();
    rx_.clear();
    topo_.reset();
  }

  std::size_t total() const {
    std::size_t t = 0;
    for (const auto& r : rx_) t += r->count();
    return t;
  }

  ListenerStats stats(std::size_t listener = 0) const { return fanout_->status()[listener].stats; }

  // What each stage saw, for failure messages: where datagrams went missing.
  std::string diag() const {
    std::string d = "receivers got";
    for (const auto& r : rx_) d += " " + std::to_string(r->count());
    for (const auto& l : fanout_->status()) {
      d += "; " + l.name + ": received " + std::to_string(l.stats.received_packets) +
           ", forwarded " + std::to_string(l.stats.forwarded_packets);
      for (std::size_t i = 0; i < kDropReasonCount; ++i) {
        if (l.stats.dropped[i] != 0) {
          d += ", dropped " + std::string(to_string(static_cast<DropReason>(i))) + " " +
               std::to_string(l.stats.dropped[i]);
        }
      }
    }
    return d;
  }

  Mode mode_ = Mode::userspace;
  std::string pin_path_ = "/sys/fs/bpf/fanout-test-" + fotest::unique_tag();
  std::unique_ptr<Topology> topo_;
  std::vector<std::unique_ptr<Receiver>> rx_;
  std::unique_ptr<Fanout> fanout_;
};

/// The same fixture, once per engine.
class FanoutNetns : public NetnsFixture, public ::testing::WithParamInterface<Mode> {
 protected:
  void SetUp() override { mode_ = GetParam(); }
};

}  // namespace bngkit::fanout
