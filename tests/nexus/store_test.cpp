// Store: WAL + synchronous=FULL, batched writes, reopening, acknowledged writes surviving a
// SIGKILLed writer process, online backup under concurrent writes, restore and verification.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <bngkit/nexus/store.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>

namespace bngkit::nexus {
namespace {

namespace fs = std::filesystem;

// A fresh directory, removed with everything in it when the test ends (pass or fail).
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "nexus-store-XXXXXX").string();
    char* made = ::mkdtemp(tmpl.data());
    if (made == nullptr) std::abort();
    path_ = made;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

StoredEntry entry(const std::string& set, const std::string& key, const std::string& value,
                  std::uint64_t length = 1) {
  return StoredEntry{set, key, length, 1000 + length, "replica-a", value};
}

Store open_or_die(const fs::path& p) {
  auto s = Store::open(p);
  if (!s) {
    ADD_FAILURE() << s.error().message();
    std::abort();
  }
  return std::move(s).value();
}

std::map<std::string, std::string> as_map(const std::vector<StoredEntry>& v) {
  std::map<std::string, std::string> m;
  for (const auto& e : v) m[e.key] = e.value;
  return m;
}

TEST(Store, UsesWalWithFullSync) {
  TempDir dir;
  Store s = open_or_die(dir.path() / "nexus.db");
  auto d = s.durability();
  ASSERT_TRUE(d.ok()) << d.error().message();
  EXPECT_EQ(d->journal_mode, "wal");
  EXPECT_EQ(d->synchronous, 2);  // FULL
}

TEST(Store, WritesLoadsAndSurvivesReopening) {
  TempDir dir;
  const auto path = dir.path() / "nexus.db";
  {
    Store s = open_or_die(path);
    WriteBatch b;
    b.entries.push_back(entry("pools", "p1", "pool-one"));
    b.entries.push_back(entry("pools", std::string("bin\0key", 7), std::string("v\0v", 3)));
    b.entries.push_back(entry("allocations", "a1", "alloc"));
    b.meta.emplace_back("replica_id", "replica-a");
    b.meta.emplace_back("q/pool/10.0.0.1", "123");
    b.meta.emplace_back("q/pool/10.0.0.2", "456");
    b.meta.emplace_back("q_other", "x");
    ASSERT_TRUE(s.write(b).ok());
    WriteBatch update;
    update.entries.push_back(entry("pools", "p1", "pool-one-v2", 3));
    update.meta_erase.push_back("q/pool/10.0.0.1");
    ASSERT_TRUE(s.write(update).ok());
    EXPECT_TRUE(s.write(WriteBatch{}).ok());
  }
  Store s = open_or_die(path);
  auto pools = s.load("pools");
  ASSERT_TRUE(pools.ok()) << pools.error().message();
  ASSERT_EQ(pools->size(), 2u);
  const auto m = as_map(*pools);
  EXPECT_EQ(m.at("p1"), "pool-one-v2");
  EXPECT_EQ(m.at(std::string("bin\0key", 7)), std::string("v\0v", 3));
  for (const auto& e : *pools) {
    if (e.key == "p1") {
      EXPECT_EQ(e.length, 3u);
      EXPECT_EQ(e.hlc, 1003u);
      EXPECT_EQ(e.origin, "replica-a");
    }
  }
  EXPECT_EQ(s.load("allocations")->size(), 1u);
  EXPECT_TRUE(s.load("nodes")->empty());
  auto id = s.meta("replica_id");
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(id->has_value());
  EXPECT_EQ(**id, "replica-a");
  EXPECT_FALSE(s.meta("missing")->has_value());
  auto q = s.meta_with_prefix("q/");
  ASSERT_TRUE(q.ok());
  ASSERT_EQ(q->size(), 1u);
  EXPECT_EQ((*q)[0].first, "q/pool/10.0.0.2");
}

TEST(Store, RefusesWhatIsNotANexusStore) {
  TempDir dir;
  const auto garbage = dir.path() / "garbage.db";
  std::ofstream(garbage) << std::string(8192, 'x');
  auto g = Store::open(garbage);
  ASSERT_FALSE(g.ok());
  auto missing = Store::open(dir.path() / "missing.db", StoreOptions{.create = false});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, std::errc::no_such_file_or_directory);
  EXPECT_FALSE(fs::exists(dir.path() / "missing.db"));
}

// The acknowledgement protocol a daemon follows: answer the client only after write() is ok.
// A child process writes and acknowledges over a pipe; the parent kills it with SIGKILL at
// an arbitrary moment (usually mid-transaction), reopens, and finds every acknowledged write.
TEST(Store, AcknowledgedWritesSurviveSigkill) {
  TempDir dir;
  const auto path = dir.path() / "nexus.db";
  std::set<int> acked;
  int next = 0;
  for (int round = 0; round < 3; ++round) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      auto s = Store::open(path);
      if (!s) ::_exit(2);
      for (int i = next;; ++i) {
        WriteBatch b;
        b.entries.push_back(
            entry("allocations", "sub-" + std::to_string(i),
                  "10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250)));
        b.meta.emplace_back("last", std::to_string(i));
        if (!s->write(b)) ::_exit(3);
        if (::write(fds[1], &i, sizeof i) != sizeof i) ::_exit(4);
      }
    }
    ::close(fds[1]);
    int got = 0;
    int value = 0;
    const int want = 40 + round * 30;
    while (got < want && ::read(fds[0], &value, sizeof value) == sizeof value) {
      acked.insert(value);
      ++got;
    }
    ::kill(pid, SIGKILL);
    // Acknowledgements already in the pipe count too: the client saw them.
    while (::read(fds[0], &value, sizeof value) == sizeof value) acked.insert(value);
    ::close(fds[0]);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "writer exited on its own, status " << status;
    ASSERT_EQ(WTERMSIG(status), SIGKILL);
    ASSERT_EQ(got, want);

    Store s = open_or_die(path);
    const auto m = as_map(*s.load("allocations"));
    for (int i : acked) {
      auto it = m.find("sub-" + std::to_string(i));
      ASSERT_NE(it, m.end()) << "acknowledged write " << i << " lost in round " << round;
      EXPECT_EQ(it->second, "10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250));
    }
    next = static_cast<int>(m.size()) + 1000 * (round + 1);
  }
}

TEST(Store, OnlineBackupIsAConsistentSnapshotWhileWritersRun) {
  TempDir dir;
  Store s = open_or_die(dir.path() / "nexus.db");
  for (int i = 0; i < 100; ++i) {
    WriteBatch b;
    b.entries.push_back(entry("seq", std::to_string(100000 + i), "x"));
    ASSERT_TRUE(s.write(b).ok());
  }
  std::atomic<bool> stop{false};
  std::atomic<int> written{100};
  std::atomic<bool> failed{false};
  std::thread writer([&] {
    // Each transaction adds the next key and bumps a counter in meta: a consistent copy
    // holds keys 0..n-1 exactly and the counter n.
    for (int i = 100; !stop.load(); ++i) {
      WriteBatch b;
      b.entries.push_back(entry("seq", std::to_string(100000 + i), "x"));
      b.meta.emplace_back("count", std::to_string(i + 1));
      if (!s.write(b)) {
        failed = true;
        return;
      }
      written.store(i + 1);
    }
  });
  while (written.load() < 150 && !failed.load()) std::this_thread::yield();
  if (failed.load()) {
    writer.join();
    FAIL() << "writer failed";
  }
  const int before = written.load();
  const auto backup = dir.path() / "backup.db";
  auto r = s.backup(backup);
  stop = true;
  writer.join();
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_FALSE(fs::exists(dir.path() / "backup.db.partial"));
  ASSERT_TRUE(Store::verify(backup).ok());

  const auto copy = dir.path() / "copy.db";
  fs::copy_file(backup, copy);
  Store b = open_or_die(copy);
  const auto rows = *b.load("seq");
  const auto count = *b.meta("count");
  ASSERT_TRUE(count.has_value());
  const int n = std::stoi(*count);
  EXPECT_GE(n, before);
  ASSERT_EQ(static_cast<int>(rows.size()), n) << "backup is not one snapshot";
  for (int i = 0; i < n; ++i)
    EXPECT_EQ(rows[static_cast<std::size_t>(i)].key, std::to_string(100000 + i));
}

TEST(Store, RestoreReplacesContentsOnlineAndKeepsWorking) {
  TempDir dir;
  const auto path = dir.path() / "nexus.db";
  Store s = open_or_die(path);
  WriteBatch b;
  b.entries.push_back(entry("pools", "p1", "original"));
  b.meta.emplace_back("replica_id", "a");
  ASSERT_TRUE(s.write(b).ok());
  const auto backup = dir.path() / "snap.db";
  ASSERT_TRUE(s.backup(backup).ok());

  WriteBatch later;
  later.entries.push_back(entry("pools", "p1", "changed", 3));
  later.entries.push_back(entry("pools", "p2", "added"));
  ASSERT_TRUE(s.write(later).ok());
  ASSERT_EQ(s.load("pools")->size(), 2u);

  auto r = s.restore(backup);
  ASSERT_TRUE(r.ok()) << r.error().message();
  auto pools = as_map(*s.load("pools"));
  EXPECT_EQ(pools.size(), 1u);
  EXPECT_EQ(pools.at("p1"), "original");
  EXPECT_EQ(s.durability()->journal_mode, "wal");

  WriteBatch after;
  after.entries.push_back(entry("pools", "p3", "after-restore"));
  ASSERT_TRUE(s.write(after).ok());
  Store reopened = open_or_die(path);
  pools = as_map(*reopened.load("pools"));
  EXPECT_EQ(pools.size(), 2u);
  EXPECT_EQ(pools.at("p3"), "after-restore");
}

TEST(Store, RestoreRefusesDamagedOrForeignFilesAndLeavesTheStoreAlone) {
  TempDir dir;
  Store s = open_or_die(dir.path() / "nexus.db");
  WriteBatch b;
  for (int i = 0; i < 2000; ++i)
    b.entries.push_back(entry("allocations", "sub-" + std::to_string(i), std::string(40, 'v')));
  ASSERT_TRUE(s.write(b).ok());
  const auto good = dir.path() / "good.db";
  ASSERT_TRUE(s.backup(good).ok());

  // Truncated copy: the header promises pages that are not there.
  const auto truncated = dir.path() / "truncated.db";
  fs::copy_file(good, truncated);
  fs::resize_file(truncated, fs::file_size(good) / 2);
  EXPECT_FALSE(Store::verify(truncated).ok());
  EXPECT_FALSE(s.restore(truncated).ok());

  const auto junk = dir.path() / "junk.db";
  std::ofstream(junk) << std::string(4096, 'j');
  EXPECT_FALSE(s.restore(junk).ok());
  EXPECT_FALSE(s.restore(dir.path() / "absent.db").ok());

  EXPECT_EQ(s.load("allocations")->size(), 2000u);
  EXPECT_TRUE(Store::verify(good).ok());
}

}  // namespace
}  // namespace bngkit::nexus
