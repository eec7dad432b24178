// Ring buffer consumer: events produced by a real program, epoll readiness, backlog.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>

#include <bngkit/ebpfkit/health.hpp>
#include <bngkit/ebpfkit/object.hpp>
#include <bngkit/ebpfkit/ringbuf.hpp>
#include <bngkit/ebpfkit/test_run.hpp>
#include <stdexcept>

#include "test_util.hpp"

namespace ek = bngkit::ebpfkit;
using ::testing::HasSubstr;

namespace {

// Each record: 8-byte header + the 16-byte event, rounded to 8.
constexpr std::size_t kRecord = 8 + sizeof(ebpfkit_event);

class RingBufferTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EBPFKIT_REQUIRE_PRIVILEGES();
    obj_.emplace(ektest::load_test_object());
    ASSERT_TRUE(obj_->loaded());
  }
  void produce(std::uint32_t seq) {
    std::vector<std::uint8_t> payload(4);
    std::memcpy(payload.data(), &seq, 4);
    auto pkt = ektest::udp_frame(EBPFKIT_TEST_UDP_PORT, payload);
    // The event's seq is read at the start of the IPv4 header: put seq there instead.
    std::memcpy(pkt.data() + 14, &seq, 4);
    auto r = ek::test_run(obj_->program("xdp_event").value(), pkt);
    ASSERT_TRUE(r.ok()) << r.error().message();
    ASSERT_EQ(r->retval, static_cast<std::uint32_t>(XDP_PASS));
  }
  std::optional<ek::Object> obj_;
};

TEST_F(RingBufferTest, EventsRoundTripInOrderWithBacklog) {
  std::vector<ebpfkit_event> got;
  auto rb = ek::RingBuffer::open(obj_->map("events").value(), [&](std::span<const std::byte> rec) {
    ASSERT_EQ(rec.size(), sizeof(ebpfkit_event));
    ebpfkit_event e;
    std::memcpy(&e, rec.data(), sizeof(e));
    got.push_back(e);
  });
  ASSERT_TRUE(rb.ok()) << rb.error().message();
  EXPECT_GE(rb->fd(), 0);
  EXPECT_EQ(rb->backlog().bytes, 0U);
  EXPECT_EQ(rb->backlog().capacity, 4096U * 4);

  for (std::uint32_t i = 1; i <= 5; ++i) produce(i * 1000);
  EXPECT_EQ(rb->backlog().bytes, 5 * kRecord);
  EXPECT_DOUBLE_EQ(ek::ring_pressure(*rb).ratio(), 5.0 * kRecord / (4096.0 * 4));

  pollfd pfd{rb->fd(), POLLIN, 0};
  ASSERT_EQ(::poll(&pfd, 1, 1000), 1);  // the epoll fd is readable
  auto n = rb->poll(std::chrono::milliseconds(100));
  ASSERT_TRUE(n.ok()) << n.error().message();
  EXPECT_EQ(*n, 5);
  ASSERT_EQ(got.size(), 5U);
  for (std::uint32_t i = 0; i < 5; ++i) {
    EXPECT_EQ(got[i].seq, (i + 1) * 1000);
    EXPECT_EQ(got[i].len, 14U + 20 + 8 + 4);
    if (i > 0) {
      EXPECT_GE(got[i].ts_ns, got[i - 1].ts_ns);
    }
  }
  EXPECT_EQ(rb->backlog().bytes, 0U);
  auto none = rb->poll(std::chrono::milliseconds(10));
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0);  // timeout

  produce(7);
  auto c = rb->consume();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, 1);
  EXPECT_EQ(got.back().seq, 7U);
}

TEST_F(RingBufferTest, SurvivesItsObjectAndMoves) {
  int count = 0;
  auto rb = ek::RingBuffer::open(obj_->map("events").value(),
                                 [&](std::span<const std::byte>) { ++count; });
  ASSERT_TRUE(rb.ok());
  produce(1);
  ek::RingBuffer moved = std::move(rb).value();
  obj_.reset();  // the consumer holds its own map reference
  EXPECT_EQ(moved.backlog().bytes, kRecord);
  EXPECT_EQ(*moved.consume(), 1);
  EXPECT_EQ(count, 1);
}

TEST_F(RingBufferTest, CallbackExceptionBecomesAnError) {
  auto rb = ek::RingBuffer::open(obj_->map("events").value(), [](std::span<const std::byte>) {
    throw std::runtime_error("bad record");
  });
  ASSERT_TRUE(rb.ok());
  produce(1);
  auto r = rb->consume();
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().context, HasSubstr("callback threw: bad record"));
}

TEST_F(RingBufferTest, OpenRejectsOtherMapsAndEmptyCallbacks) {
  auto wrong =
      ek::RingBuffer::open(obj_->map("hash_map").value(), [](std::span<const std::byte>) {});
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().context, "map 'hash_map' is a hash map, not a ringbuf");
  auto empty = ek::RingBuffer::open(obj_->map("events").value(), nullptr);
  ASSERT_FALSE(empty.ok());
}

}  // namespace
