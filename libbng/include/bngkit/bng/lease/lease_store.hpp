// LeaseStore: the durable lease database (SQLite, WAL journal, synchronous=FULL). A lease
// written with upsert() is on disk when the call returns, so a lease acknowledged to a
// client survives kill -9 and power loss. SQLite stays behind a pImpl.
#pragma once

#include <bngkit/bng/export.hpp>
#include <bngkit/bng/lease/lease.hpp>
#include <bngkit/common/result.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace bngkit::bng::lease {

/// A lease database file. Thread-safety: every member takes one internal mutex, so one
/// store may be shared between threads. Two processes should not open the same file for
/// writing at once (SQLite would serialise them, but both would believe they own the leases).
///
/// Schema: table `leases` keyed by address (an integer, host order), with a unique index
/// that lets a subscriber hold at most one offered/bound lease per pool; view
/// `leases_readable` shows dotted addresses for operators using the sqlite3 shell. The
/// schema version is PRAGMA user_version; open() migrates older files and refuses newer ones.
class BNGKIT_BNG_EXPORT LeaseStore {
 public:
  /// The schema version this build writes.
  static constexpr int kSchemaVersion = 2;
  /// PRAGMA application_id of a bngkit lease database ("BNGL").
  static constexpr std::int32_t kApplicationId = 0x424E474C;

  /// Opens or creates the database at `path` (parent directory must exist) and migrates it
  /// to kSchemaVersion. Fails when the file is not a lease store, is newer than this build,
  /// or cannot be opened.
  [[nodiscard]] static Result<LeaseStore> open(const std::filesystem::path& path);

  LeaseStore(LeaseStore&&) noexcept;
  LeaseStore& operator=(LeaseStore&&) noexcept;
  ~LeaseStore();

  /// Inserts or replaces the lease of `lease.address`; durable when it returns. Fails with
  /// std::errc::address_in_use when the subscriber already has another offered or bound
  /// lease in the pool (end that one first).
  [[nodiscard]] Result<void> upsert(const Lease& lease);
  /// upsert() of several leases in one transaction (one fsync): all or none.
  [[nodiscard]] Result<void> upsert(std::span<const Lease> leases);
  /// Deletes the lease of `address`; true when there was one.
  [[nodiscard]] Result<bool> erase(Ipv4 address);

  /// Group commit: while a Batch is open, every write joins one transaction and is durable
  /// only once Batch::commit() returns (one fsync for all of them). A Batch destroyed
  /// without commit() rolls every write back. One batch at a time; not for sharing the
  /// store between threads while it is open.
  class BNGKIT_BNG_EXPORT Batch {
   public:
    Batch(Batch&& other) noexcept;
    Batch& operator=(Batch&&) = delete;
    Batch(const Batch&) = delete;
    Batch& operator=(const Batch&) = delete;
    ~Batch();
    /// Commits every write since begin_batch(); on failure they are all rolled back.
    [[nodiscard]] Result<void> commit();

   private:
    friend class LeaseStore;
    explicit Batch(LeaseStore* store) noexcept : store_(store) {}
    LeaseStore* store_;
  };
  [[nodiscard]] Result<Batch> begin_batch();

  /// The lease of `address`.
  [[nodiscard]] Result<std::optional<Lease>> find(Ipv4 address);
  /// The subscriber's active (offered, bound or declined) leases, any pool.
  [[nodiscard]] Result<std::vector<Lease>> find(const SubscriberKey& subscriber);
  /// Every lease, released ones included, oldest `last_seen` first (so that replaying them
  /// leaves the newest stickiness hint in place).
  [[nodiscard]] Result<std::vector<Lease>> load_all();
  /// Number of lease records.
  [[nodiscard]] Result<std::size_t> count();

  /// Ends every active lease with `expires <= now`, in one transaction, and returns them as
  /// they were. Offered and bound leases become `released` (kept as stickiness hints);
  /// declined ones are deleted (probation over).
  [[nodiscard]] Result<std::vector<Lease>> expire(std::chrono::sys_seconds now);
  /// Deletes released leases last seen before `before`; returns how many.
  [[nodiscard]] Result<std::size_t> prune_released(std::chrono::sys_seconds before);

  /// The schema version of the open file (PRAGMA user_version).
  [[nodiscard]] Result<int> schema_version();
  /// Where the database lives.
  [[nodiscard]] const std::filesystem::path& path() const noexcept;

 private:
  Result<void> end_batch(bool commit);
  struct Impl;
  explicit LeaseStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace bngkit::bng::lease
