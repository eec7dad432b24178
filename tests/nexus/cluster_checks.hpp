// What "the cluster is right" means, checked over the HTTP API of every replica: the same
// digests (all replicas equal, removed entries included), the same allocations everywhere,
// no address twice, and every acknowledged allocation still there with its address.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "nexus_process.hpp"

namespace nexus_test {

using Allocations = std::map<std::string, std::string>;  // subscriber -> ip

inline Allocations allocations_of(const Daemon& d, const std::string& pool) {
  Allocations out;
  auto r = d.request("GET", "/api/v1/allocations?pool_id=" + pool, "", 20s);
  auto v = r.json();
  if (!v.is_object() || !v.as_object().contains("allocations")) return out;
  for (const auto& a : v.at("allocations").as_array())
    out[std::string(a.at("subscriber_id").as_string())] = std::string(a.at("ip").as_string());
  return out;
}

inline std::string digest_of(const Daemon& d) { return d.get("/admin/digest").body; }

/// True once every replica shows the same, non-empty digest.
inline bool converged(const std::vector<Daemon*>& ds) {
  const std::string first = digest_of(*ds[0]);
  if (first.empty()) return false;
  for (std::size_t i = 1; i < ds.size(); ++i)
    if (digest_of(*ds[i]) != first) return false;
  return true;
}

/// No address is held by two subscribers in `a` (what `where` shows).
inline void expect_no_address_twice(const Allocations& a, const std::string& where) {
  std::map<std::string, std::string> by_ip;
  for (const auto& [sub, ip] : a) {
    auto [it, fresh] = by_ip.emplace(ip, sub);
    EXPECT_TRUE(fresh) << where << ": " << ip << " is held by " << it->second << " and " << sub;
  }
}

/// Checks the invariants; `acked` are allocations clients were told about (subscriber -> ip),
/// `moved` subscribers whose acknowledged address may legitimately have changed (allocated on
/// two sides of a partition at once: the later one is kept, see libnexus/README.md).
inline void expect_consistent(const std::vector<Daemon*>& ds, const std::string& pool,
                              const Allocations& acked, const std::set<std::string>& moved = {}) {
  const Allocations first = allocations_of(*ds[0], pool);
  ASSERT_FALSE(first.empty());
  for (std::size_t i = 1; i < ds.size(); ++i)
    EXPECT_TRUE(allocations_of(*ds[i], pool) == first)
        << "replica " << ds[i]->options().id << " shows other allocations than "
        << ds[0]->options().id;
  expect_no_address_twice(first, ds[0]->options().id);
  std::size_t lost = 0;
  std::size_t changed = 0;
  for (const auto& [sub, ip] : acked) {
    auto it = first.find(sub);
    if (it == first.end()) {
      if (++lost <= 5)
        ADD_FAILURE() << "acknowledged allocation of " << sub << " (" << ip << ") is gone";
      continue;
    }
    if (it->second != ip && moved.count(sub) == 0 && ++changed <= 5)
      ADD_FAILURE() << sub << " was given " << ip << " and now has " << it->second;
  }
  EXPECT_EQ(lost, 0U);
}

/// Sums one counter series over replicas (-1 when a replica does not show it).
inline double metric(const Daemon& d, const std::string& series) {
  const std::string text = "\n" + d.metrics().body;
  const auto at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::strtod(text.c_str() + at + series.size() + 2, nullptr);
}

}  // namespace nexus_test
