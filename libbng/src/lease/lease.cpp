// Lease state names, the lease-to-allocator mapping and the clock conversions.
#include <bngkit/bng/lease/lease.hpp>
#include <ctime>

namespace bngkit::bng::lease {

std::string_view to_string(LeaseState state) noexcept {
  switch (state) {
    case LeaseState::offered:
      return "offered";
    case LeaseState::bound:
      return "bound";
    case LeaseState::declined:
      return "declined";
    case LeaseState::released:
      return "released";
  }
  return "unknown";
}

std::optional<LeaseState> parse_lease_state(std::string_view text) noexcept {
  for (auto s :
       {LeaseState::offered, LeaseState::bound, LeaseState::declined, LeaseState::released}) {
    if (text == to_string(s)) return s;
  }
  return std::nullopt;
}

pool::RestoredAddress to_restored(const Lease& lease) {
  pool::RestoredAddress r;
  r.subscriber = lease.subscriber;
  r.pool_id = lease.pool_id;
  r.address = lease.address;
  switch (lease.state) {
    case LeaseState::offered:
    case LeaseState::bound:
      r.kind = pool::RestoreKind::binding;
      break;
    case LeaseState::declined:
      r.kind = pool::RestoreKind::probation;
      break;
    case LeaseState::released:
      r.kind = pool::RestoreKind::history;
      break;
  }
  r.until = lease.expires;
  return r;
}

ClockPair ClockPair::now() noexcept {
  timespec mono{};
  timespec real{};
  clock_gettime(CLOCK_MONOTONIC, &mono);
  clock_gettime(CLOCK_REALTIME, &real);
  ClockPair p;
  // Keep the sub-second part of the wall clock in the monotonic reading, so that
  // `realtime` (whole seconds) and `monotonic_ns` name the same instant.
  p.realtime = from_epoch_seconds(real.tv_sec);
  const std::uint64_t mono_ns = static_cast<std::uint64_t>(mono.tv_sec) * 1'000'000'000ull +
                                static_cast<std::uint64_t>(mono.tv_nsec);
  const auto frac = static_cast<std::uint64_t>(real.tv_nsec);
  p.monotonic_ns = mono_ns >= frac ? mono_ns - frac : 0;
  return p;
}

std::uint64_t ClockPair::to_monotonic_ns(std::chrono::sys_seconds t) const noexcept {
  const std::int64_t delta_s = to_epoch_seconds(t) - to_epoch_seconds(realtime);
  if (delta_s >= 0) {
    return monotonic_ns + static_cast<std::uint64_t>(delta_s) * 1'000'000'000ull;
  }
  const auto back = static_cast<std::uint64_t>(-delta_s) * 1'000'000'000ull;
  return back >= monotonic_ns ? 0 : monotonic_ns - back;
}

std::chrono::sys_seconds ClockPair::to_realtime(std::uint64_t mono_ns) const noexcept {
  const auto diff = static_cast<std::int64_t>(mono_ns) - static_cast<std::int64_t>(monotonic_ns);
  // Floor division, so a value just before `monotonic_ns` maps to the second before.
  std::int64_t secs = diff / 1'000'000'000;
  if (diff % 1'000'000'000 < 0) --secs;
  return realtime + std::chrono::seconds(secs);
}

}  // namespace bngkit::bng::lease
