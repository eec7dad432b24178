// LeaseStore on a real SQLite file: round trip, reopen, survival of kill -9 right after an
// upsert returns, the one-lease-per-subscriber rule, expiry, pruning, schema versioning and
// migration, refusal of foreign files; plus the clock conversions of lease.hpp.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bngkit/bng/lease/lease_store.hpp>
#include <csignal>
#include <fstream>
#include <thread>

#include "lease_test_util.hpp"

namespace bngkit::bng::lease {
namespace {

using namespace testing;  // NOLINT: test helpers
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

LeaseStore open_store(const std::filesystem::path& path) {
  auto s = LeaseStore::open(path);
  if (!s) {
    ADD_FAILURE() << s.error().message();
    std::abort();
  }
  return std::move(s).value();
}

// Runs SQL on a file with a separate raw connection, as a test fixture or an operator would.
void raw_sql(const std::filesystem::path& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* msg = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &msg);
  EXPECT_EQ(rc, SQLITE_OK) << (msg ? msg : "") << " in " << sql;
  sqlite3_free(msg);
  sqlite3_close(db);
}

// The first column of every row of `sql`, as text.
std::vector<std::string> raw_query(const std::filesystem::path& path, const std::string& sql) {
  std::vector<std::string> out;
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  while (sqlite3_step(s) == SQLITE_ROW) {
    const auto* t = sqlite3_column_text(s, 0);
    out.emplace_back(t ? reinterpret_cast<const char*>(t) : "NULL");
  }
  sqlite3_finalize(s);
  sqlite3_close(db);
  return out;
}

Lease full_lease() {
  const std::array<std::uint8_t, 7> cid = {0x01, 0x02, 0x00, 0x5e, 0x00, 0x00, 0x07};
  Lease l = bound("10.0.1.7", SubscriberKey::client_id(cid), 3600);
  l.hostname = "living-room-tv";
  l.circuit_id = std::string("olt-east-01\0pon 1/1/3", 21);  // binary, with a NUL
  l.remote_id = "\xde\xad\xbe\xef";
  l.last_seen = at(-5);
  return l;
}

TEST(LeaseStore, CreatesAVersionedWalDatabase) {
  TempDir dir;
  auto store = open_store(dir.file("leases.db"));
  EXPECT_EQ(store.schema_version().value(), LeaseStore::kSchemaVersion);
  EXPECT_EQ(store.path(), dir.file("leases.db"));
  EXPECT_THAT(raw_query(dir.file("leases.db"), "PRAGMA journal_mode"), ElementsAre("wal"));
  EXPECT_THAT(raw_query(dir.file("leases.db"), "PRAGMA application_id"),
              ElementsAre(std::to_string(LeaseStore::kApplicationId)));
  EXPECT_EQ(store.count().value(), 0u);
}

TEST(LeaseStore, RoundTripsEveryField) {
  TempDir dir;
  auto store = open_store(dir.file("leases.db"));
  const Lease l = full_lease();
  ASSERT_TRUE(store.upsert(l));
  auto found = store.find(l.address);
  ASSERT_TRUE(found) << found.error().message();
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ(**found, l);
  EXPECT_THAT(store.load_all().value(), ElementsAre(l));
  EXPECT_FALSE(store.find(ip("10.0.1.8")).value().has_value());
}

TEST(LeaseStore, UpsertReplacesTheLeaseOfAnAddress) {
  TempDir dir;
  auto store = open_store(dir.file("leases.db"));
  Lease l = bound("10.0.1.7", mac(1));
  l.state = LeaseState::offered;
  l.expires = at(60);
  ASSERT_TRUE(store.upsert(l));
  l.state = LeaseState::bound;
  l.expires = at(3600);
  l.hostname = "now-known";
  ASSERT_TRUE(store.upsert(l));
  EXPECT_EQ(store.count().value(), 1u);
  EXPECT_EQ(store.find(l.address).value(), l);
}

TEST(LeaseStore, SurvivesReopen) {
  TempDir dir;
  std::vector<Lease> written;
  {
    auto store = open_store(dir.file("leases.db"));
    for (int i = 1; i <= 50; ++i) {
      Lease l = bound("10.0.1." + std::to_string(i), mac(static_cast<std::uint8_t>(i)));
      l.last_seen = at(i);
      ASSERT_TRUE(store.upsert(l));
      written.push_back(l);
    }
  }
  auto store = open_store(dir.file("leases.db"));
  EXPECT_EQ(store.load_all().value(), written);  // oldest last_seen first
}

TEST(LeaseStore, LeaseAcknowledgedBeforeKillNineIsThere) {
  TempDir dir;
  const auto path = dir.file("leases.db");
  { auto created = open_store(path); }  // the daemon ran before
  for (int round = 0; round < 5; ++round) {
    const Lease l =
        bound("10.0.1." + std::to_string(10 + round), mac(static_cast<std::uint8_t>(10 + round)));
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      // The "daemon": acknowledge a lease, then die with no chance to clean up.
      auto store = LeaseStore::open(path);
      if (!store || !store->upsert(l)) _exit(2);
      raise(SIGKILL);
      _exit(3);
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
    ASSERT_EQ(WTERMSIG(status), SIGKILL);

    auto store = open_store(path);
    auto found = store.find(l.address);
    ASSERT_TRUE(found) << found.error().message();
    ASSERT_TRUE(found->has_value()) << "lease " << l.address.to_string() << " lost";
    EXPECT_EQ(**found, l);
    EXPECT_EQ(store.count().value(), static_cast<std::size_t>(round + 1));
  }
}

TEST(LeaseStore, OneOfferedOrBoundLeasePerSubscriberAndPool) {
  TempDir dir;
  auto store = open_store(dir.file("leases.db"));
  ASSERT_TRUE(store.upsert(bound("10.0.1.7", mac(1))));
  auto second = store.upsert(bound("10.0.1.8", mac(1)));
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, std::errc::address_in_use);
  EXPECT_EQ(second.error().context,
            "lease store: mac:02:00:5e:00:00:01 already has an offered or bound lease in pool "
            "residential-ipv4 (cannot also hold 10.0.1.8)");
  // Another pool is fine, and so is the same pool once the first lease is released.
  ASSERT_TRUE(store.upsert(bound("10.0.2.8", mac(1), 3600, "business-ipv4")));
  Lease released = bound("10.0.1.7", mac(1));
  released.state = LeaseState::released;
  ASSERT_TRUE(store.upsert(released));
  ASSERT_TRUE(store.upsert(bound("10.0.1.8", mac(1))));
  EXPECT_THAT(
      store.find(mac(1)).value(),
      ElementsAre(bound("10.0.1.8", mac(1)), bound("10.0.2.8", mac(1), 3600, "business-ipv4")));
}

TEST(LeaseStore, BatchUpsertIsAllOrNothing) {
  TempDir dir;
  auto store = open_store(dir.file("leases.db"));
  const std::vector<Lease> ok_batch = {bound("10.0.1.2", mac(2)), bound("10.0.1.3", mac(3))};
  ASSERT_TRUE(store.upsert(ok_batch));
  const std::vector<Lease> bad_batch = {bound("10.0.1.4", mac(4)), bound("10.0.1.5", mac(2))};
  auto r = store.upsert(bad_batch);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, std::errc::address_in_use);
  EXPECT_EQ(store.count().value(), 2u);
  EXPECT_FALSE(store.find(ip("10.0.1.4")).value());
  // The store is still usable after the rollback.
  ASSERT_TRUE(store.upsert(bound("10.0.1.4", mac(4))));
}

TEST(LeaseStore, GroupCommitIsDurableOnlyOnceCommitted) {
  TempDir dir;
  const auto path = dir.file("leases.db");
  auto store = open_store(path);
  {
    auto batch = store.begin_batch();
    ASSERT_TRUE(batch) << batch.error().message();
    EXPECT_FALSE(store.begin_batch()) << "one batch at a time";
    ASSERT_TRUE(store.upsert(bound("10.0.1.2", mac(2))));
    ASSERT_TRUE(store.upsert(bound("10.0.1.3", mac(3))));
    // A nested transaction (batch upsert) inside the batch is all or none by itself.
    const std::vector<Lease> bad = {bound("10.0.1.4", mac(4)), bound("10.0.1.5", mac(2))};
    EXPECT_FALSE(store.upsert(bad));
    // Not on disk yet: another connection does not see the writes.
    EXPECT_THAT(raw_query(path, "SELECT count(*) FROM leases"), ElementsAre("0"));
    ASSERT_TRUE(batch->commit());
    EXPECT_FALSE(batch->commit()) << "a batch commits once";
  }
  EXPECT_THAT(raw_query(path, "SELECT count(*) FROM leases"), ElementsAre("2"));
  {
    auto batch = store.begin_batch();
    ASSERT_TRUE(batch);
    ASSERT_TRUE(store.upsert(bound("10.0.1.6", mac(6))));
  }  // dropped without commit: rolled back
  EXPECT_EQ(store.count().value(), 2u);
  EXPECT_FALSE(store.find(ip("10.0.1.6")).value());
  ASSERT_TRUE(store.upsert(bound("10.0.1.6", mac(6))));  // autocommit again
  EXPECT_THAT(raw_query(path, "SELECT count(*) FROM leases"), ElementsAre("3"));
}

TEST(LeaseStore, ExpireEndsDueLeases) {
  TempDir dir;
  auto store = open_store(dir.file("leases.db"));
  Lease offered = bound("10.0.1.2", mac(2), 30);
  offered.state = LeaseState::offered;
  const Lease due = bound("10.0.1.3", mac(3), 60);
  Lease declined = bound("10.0.1.4", mac(4), 90);
  declined.state = LeaseState::declined;
  const Lease later = bound("10.0.1.5", mac(5), 3600);
  Lease released = bound("10.0.1.6", mac(6), -100);
  released.state = LeaseState::released;
  ASSERT_TRUE(store.upsert(std::vector{offered, due, declined, later, released}));

  auto expired = store.expire(at(100));
  ASSERT_TRUE(expired) << expired.error().message();
  EXPECT_THAT(*expired, ElementsAre(offered, due, declined));  // by expiry, as they were
  EXPECT_EQ(store.find(offered.address).value()->state, LeaseState::released);
  EXPECT_EQ(store.find(due.address).value()->state, LeaseState::released);
  EXPECT_FALSE(store.find(declined.address).value());  // probation over: gone
  EXPECT_EQ(store.find(later.address).value(), later);
  EXPECT_EQ(store.find(released.address).value(), released);
  EXPECT_THAT(store.expire(at(100)).value(), IsEmpty());
}

TEST(LeaseStore, PruneRemovesOldReleasedLeasesOnly) {
  TempDir dir;
  auto store = open_store(dir.file("leases.db"));
  Lease old_released = bound("10.0.1.2", mac(2));
  old_released.state = LeaseState::released;
  old_released.last_seen = at(-86400 * 30);
  Lease recent_released = bound("10.0.1.3", mac(3));
  recent_released.state = LeaseState::released;
  Lease old_bound = bound("10.0.1.4", mac(4));
  old_bound.last_seen = at(-86400 * 30);
  ASSERT_TRUE(store.upsert(std::vector{old_released, recent_released, old_bound}));
  EXPECT_EQ(store.prune_released(at(-86400)).value(), 1u);
  EXPECT_FALSE(store.find(old_released.address).value());
  EXPECT_EQ(store.count().value(), 2u);
}

TEST(LeaseStore, Erase) {
  TempDir dir;
  auto store = open_store(dir.file("leases.db"));
  ASSERT_TRUE(store.upsert(bound("10.0.1.2", mac(2))));
  EXPECT_TRUE(store.erase(ip("10.0.1.2")).value());
  EXPECT_FALSE(store.erase(ip("10.0.1.2")).value());
  EXPECT_EQ(store.count().value(), 0u);
}

TEST(LeaseStore, ReadableViewForOperators) {
  TempDir dir;
  {
    auto store = open_store(dir.file("leases.db"));
    ASSERT_TRUE(store.upsert(bound("10.0.1.7", mac(7))));
  }
  EXPECT_THAT(raw_query(dir.file("leases.db"),
                        "SELECT address || ' ' || subscriber || ' ' || state || ' ' || "
                        "expires_utc FROM leases_readable"),
              ElementsAre("10.0.1.7 mac:02005e000007 bound 2023-11-14 23:13:20"));
}

TEST(LeaseStore, RefusesANewerSchema) {
  TempDir dir;
  const auto path = dir.file("leases.db");
  { auto store = open_store(path); }
  raw_sql(path, "PRAGMA user_version = 7");
  auto r = LeaseStore::open(path);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, std::errc::protocol_not_supported);
  EXPECT_EQ(r.error().context, "lease store " + path.string() +
                                   ": schema version 7 is newer than this build supports (2)");
}

TEST(LeaseStore, MigratesAVersionOneFile) {
  TempDir dir;
  const auto path = dir.file("leases.db");
  // A file as the first schema version left it, with one lease in it.
  raw_sql(path, R"sql(
    CREATE TABLE leases (
      address INTEGER PRIMARY KEY CHECK (address BETWEEN 0 AND 4294967295),
      pool_id TEXT NOT NULL, key_kind INTEGER NOT NULL, key_value BLOB NOT NULL,
      state INTEGER NOT NULL CHECK (state BETWEEN 0 AND 3), expires INTEGER NOT NULL,
      hostname TEXT NOT NULL DEFAULT '', circuit_id BLOB NOT NULL DEFAULT x'',
      remote_id BLOB NOT NULL DEFAULT x'', last_seen INTEGER NOT NULL);
    CREATE UNIQUE INDEX leases_one_per_subscriber
      ON leases (pool_id, key_kind, key_value) WHERE state IN (0, 1);
    CREATE INDEX leases_by_subscriber ON leases (key_kind, key_value);
    CREATE INDEX leases_by_expiry ON leases (expires) WHERE state IN (0, 1, 2);
    INSERT INTO leases (address, pool_id, key_kind, key_value, state, expires, last_seen)
      VALUES (167772421, 'residential-ipv4', 1, x'02005e000005', 1, 1700003600, 1700000000);
    PRAGMA application_id = 1112426316;
    PRAGMA user_version = 1;
  )sql");
  auto store = open_store(path);
  EXPECT_EQ(store.schema_version().value(), 2);
  EXPECT_EQ(store.find(ip("10.0.1.5")).value(), bound("10.0.1.5", mac(5)));
  EXPECT_THAT(raw_query(path, "SELECT address FROM leases_readable"), ElementsAre("10.0.1.5"));
}

TEST(LeaseStore, RefusesFilesThatAreNotLeaseStores) {
  TempDir dir;
  const auto other = dir.file("other.db");
  raw_sql(other, "CREATE TABLE accounts (id INTEGER)");
  auto r = LeaseStore::open(other);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().context,
            "lease store " + other.string() + ": not a bngkit lease store (it holds other tables)");

  const auto foreign = dir.file("foreign.db");
  raw_sql(foreign, "PRAGMA application_id = 1234");
  r = LeaseStore::open(foreign);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().context,
            "lease store " + foreign.string() + ": not a bngkit lease store (application_id 1234)");

  const auto text = dir.file("leases.txt");
  std::ofstream(text) << "10.0.1.5 02:00:5e:00:00:05 3600\n" << std::string(4096, 'x') << "\n";
  r = LeaseStore::open(text);
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(), HasSubstr("file is not a database"));

  r = LeaseStore::open(dir.file("no-such-dir/leases.db"));
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(), HasSubstr("unable to open database file"));
}

TEST(LeaseStore, SharedBetweenThreads) {
  TempDir dir;
  auto store = open_store(dir.file("leases.db"));
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        const auto n = static_cast<std::uint8_t>(t * 25 + i);
        if (!store.upsert(bound("10.0.1." + std::to_string(n), mac(n)))) ++failures;
        if (!store.find(ip("10.0.1." + std::to_string(n)))) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(store.count().value(), 100u);
}

TEST(LeaseClock, ConvertsBetweenWallAndMonotonicTime) {
  const ClockPair c{at(0), 5'000'000'000ull};
  EXPECT_EQ(c.to_monotonic_ns(at(10)), 15'000'000'000ull);
  EXPECT_EQ(c.to_monotonic_ns(at(-3)), 2'000'000'000ull);
  EXPECT_EQ(c.to_monotonic_ns(at(-5)), 0u);  // would be before boot
  EXPECT_EQ(c.to_monotonic_ns(at(-50)), 0u);
  EXPECT_EQ(c.to_realtime(15'500'000'000ull), at(10));
  EXPECT_EQ(c.to_realtime(4'500'000'000ull), at(-1));  // floor, not toward zero
  EXPECT_EQ(to_epoch_seconds(at(7)), kT0 + 7);

  const auto now = ClockPair::now();
  timespec mono{};
  clock_gettime(CLOCK_MONOTONIC, &mono);
  const auto mono_now = static_cast<std::uint64_t>(mono.tv_sec) * 1'000'000'000ull +
                        static_cast<std::uint64_t>(mono.tv_nsec);
  EXPECT_LE(now.monotonic_ns, mono_now);
  EXPECT_LT(mono_now - now.monotonic_ns, 2'000'000'000ull);
  EXPECT_LE(std::abs(to_epoch_seconds(now.realtime) - to_epoch_seconds(pool::system_now())), 1);
}

TEST(LeaseState, Names) {
  for (auto s :
       {LeaseState::offered, LeaseState::bound, LeaseState::declined, LeaseState::released}) {
    EXPECT_EQ(parse_lease_state(to_string(s)), s);
  }
  EXPECT_FALSE(parse_lease_state("expired"));
  EXPECT_TRUE(is_active(LeaseState::declined));
  EXPECT_FALSE(is_active(LeaseState::released));
}

}  // namespace
}  // namespace bngkit::bng::lease
