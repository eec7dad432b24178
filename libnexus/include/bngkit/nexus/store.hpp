// Store: the durable home of a replica's CLSet entries and its local metadata, an embedded
// SQLite database in WAL mode with synchronous=FULL, so a write that returned ok survives
// kill -9 and power loss. Online, consistent backup and restore through SQLite's backup API.
// No SQLite type appears here (pImpl).
#pragma once

#include <bngkit/common/result.hpp>
#include <bngkit/nexus/export.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bngkit::nexus {

/// One CLSet entry as persisted: canonical key and value bytes plus the entry's metadata.
struct StoredEntry {
  std::string set;  ///< which CLSet ("pools", "allocations", ...)
  std::string key;  ///< canonical key bytes
  std::uint64_t length = 0;
  std::uint64_t hlc = 0;
  std::string origin;
  std::string value;  ///< canonical value bytes
  friend bool operator==(const StoredEntry&, const StoredEntry&) = default;
};

/// Writes applied together: all of them or none, durable once `Store::write` returns ok.
struct WriteBatch {
  std::vector<StoredEntry> entries;                       ///< upserted by (set, key)
  std::vector<std::pair<std::string, std::string>> meta;  ///< local metadata upserted
  std::vector<std::string> meta_erase;                    ///< local metadata removed
  [[nodiscard]] bool empty() const noexcept {
    return entries.empty() && meta.empty() && meta_erase.empty();
  }
};

/// How to open a store.
struct StoreOptions {
  bool create = true;                            ///< create the database when it is missing
  std::chrono::milliseconds busy_timeout{5000};  ///< wait this long for another connection's lock
};

/// The durable store. Thread-safe: one connection behind a mutex; backups read through
/// their own connection so they do not stop writers (WAL readers see one snapshot).
class BNGKIT_NEXUS_EXPORT Store {
 public:
  /// Opens (or creates) the database at `path`, switches it to WAL mode with
  /// synchronous=FULL and checks that it is a nexus store of a schema this build reads.
  [[nodiscard]] static Result<Store> open(const std::filesystem::path& path,
                                          const StoreOptions& options = {});

  Store(Store&&) noexcept;
  Store& operator=(Store&&) noexcept;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  ~Store();

  /// Applies `batch` in one transaction; ok means it is on stable storage.
  [[nodiscard]] Result<void> write(const WriteBatch& batch);
  /// Applies `batches` in order, all in one transaction (one sync): group commit.
  [[nodiscard]] Result<void> write(std::span<const WriteBatch> batches);
  /// Every entry of CLSet `set`, ordered by key bytes.
  [[nodiscard]] Result<std::vector<StoredEntry>> load(std::string_view set) const;
  /// One local metadata value, if present.
  [[nodiscard]] Result<std::optional<std::string>> meta(std::string_view name) const;
  /// Local metadata whose names start with `prefix`, ordered by name.
  [[nodiscard]] Result<std::vector<std::pair<std::string, std::string>>> meta_with_prefix(
      std::string_view prefix) const;

  /// Writes a consistent copy of the database as it is now to `destination` while writers
  /// carry on. The copy appears atomically (written beside it, synced, renamed).
  [[nodiscard]] Result<void> backup(const std::filesystem::path& destination) const;
  /// Replaces this store's whole contents with the backup at `source`, online and in one
  /// step (readers see the old or the new database, never a mix). The backup is verified
  /// first. The caller reloads whatever it cached from the store.
  [[nodiscard]] Result<void> restore(const std::filesystem::path& source);
  /// Checks that `file` is an intact nexus store (integrity check, application id, schema).
  [[nodiscard]] static Result<void> verify(const std::filesystem::path& file);

  /// The database's durability settings as SQLite reports them.
  struct Durability {
    std::string journal_mode;  ///< "wal"
    int synchronous = 0;       ///< 2 = FULL
  };
  [[nodiscard]] Result<Durability> durability() const;

  [[nodiscard]] const std::filesystem::path& path() const noexcept;

 private:
  struct Impl;
  explicit Store(std::unique_ptr<Impl> impl) noexcept;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bngkit::nexus
