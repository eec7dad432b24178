// Shared helpers of the lease tests: a scratch directory and lease builders.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <bngkit/bng/lease/lease.hpp>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace bngkit::bng::lease::testing {

/// A fresh directory under /tmp, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = "/tmp/bngkit-lease-" + std::to_string(getpid()) + "-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  [[nodiscard]] std::filesystem::path file(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

inline Ipv4 ip(std::string_view text) { return Ipv4::parse(text).value(); }

inline SubscriberKey mac(std::uint8_t n) {
  return SubscriberKey::mac(MacAddress({0x02, 0x00, 0x5e, 0x00, 0x00, n}));
}

inline constexpr std::int64_t kT0 = 1'700'000'000;  // a fixed CLOCK_REALTIME instant

inline std::chrono::sys_seconds at(std::int64_t offset) { return from_epoch_seconds(kT0 + offset); }

/// A bound lease of `address` for `subscriber` in pool "residential-ipv4".
inline Lease bound(std::string_view address, SubscriberKey subscriber,
                   std::int64_t expires_in = 3600, std::string pool_id = "residential-ipv4") {
  Lease l;
  l.address = ip(address);
  l.pool_id = std::move(pool_id);
  l.subscriber = std::move(subscriber);
  l.state = LeaseState::bound;
  l.expires = at(expires_in);
  l.last_seen = at(0);
  return l;
}

}  // namespace bngkit::bng::lease::testing
