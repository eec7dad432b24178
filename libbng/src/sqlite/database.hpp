// A SQLite database file the way bngkit keeps durable state (leases, sessions, the
// accounting queue): WAL journal with synchronous=FULL, so a committed transaction is
// fsynced before the call returns; the file's owner checked by PRAGMA application_id;
// append-only schema migrations keyed by PRAGMA user_version. Internal to libbng.
#pragma once

#include <sqlite3.h>

#include <bngkit/common/result.hpp>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace bngkit::bng::sqlite {

/// SQLite result codes as std::error_code ("sqlite"), with portable conditions.
[[nodiscard]] const std::error_category& category() noexcept;

/// An owned prepared statement.
class Stmt {
 public:
  Stmt() = default;
  explicit Stmt(sqlite3_stmt* s) : s_(s) {}
  Stmt(Stmt&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  Stmt& operator=(Stmt&& o) noexcept {
    std::swap(s_, o.s_);
    return *this;
  }
  ~Stmt() { sqlite3_finalize(s_); }
  [[nodiscard]] sqlite3_stmt* get() const { return s_; }

 private:
  sqlite3_stmt* s_ = nullptr;
};

/// Resets and unbinds a statement when a use of it ends, however it ends.
class StmtUse {
 public:
  explicit StmtUse(const Stmt& s) : s_(s.get()) {}
  ~StmtUse() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  StmtUse(const StmtUse&) = delete;
  StmtUse& operator=(const StmtUse&) = delete;
  [[nodiscard]] sqlite3_stmt* get() const { return s_; }

 private:
  sqlite3_stmt* s_;
};

void bind_text(sqlite3_stmt* s, int i, std::string_view v);
/// A zero-length blob stays a blob, not NULL.
void bind_blob(sqlite3_stmt* s, int i, std::string_view v);
[[nodiscard]] std::string column_bytes(sqlite3_stmt* s, int i);

/// What a file holds: `kind` names it in errors ("lease store"); migrations[i] takes the
/// schema from version i to i + 1 (append only: released files must keep migrating).
struct Schema {
  std::string_view kind;
  std::int32_t application_id = 0;
  std::span<const char* const> migrations;
};

/// One open database. Not thread-safe: its owner serialises calls.
class Database {
 public:
  Database() = default;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database();

  /// Opens or creates `path` (parent must exist), sets WAL + synchronous=FULL and migrates
  /// it to the schema's newest version. Fails when the file belongs to something else, is
  /// newer than this build, or cannot be opened.
  [[nodiscard]] Result<void> open(const std::filesystem::path& path, const Schema& schema);

  [[nodiscard]] sqlite3* handle() const noexcept { return db_; }
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
  [[nodiscard]] int schema_version() const noexcept { return static_cast<int>(schema_.migrations.size()); }

  /// An error naming the file and `context`, with SQLite's own message.
  [[nodiscard]] Error error(int rc, const std::string& context) const;
  [[nodiscard]] Result<void> exec(const char* sql, const std::string& context);
  [[nodiscard]] Result<std::int64_t> query_int(const char* sql);
  [[nodiscard]] Result<std::string> query_text(const char* sql);
  [[nodiscard]] Result<void> prepare(Stmt& out, const std::string& sql);
  /// Steps a statement that returns no rows.
  [[nodiscard]] Result<void> run(const Stmt& s, const std::string& context);
  [[nodiscard]] Result<void> run_bound(const StmtUse& use, const std::string& context);

  /// Group commit: BEGIN IMMEDIATE now, COMMIT (one fsync) at end_batch(true).
  [[nodiscard]] Result<void> begin_batch();
  [[nodiscard]] Result<void> end_batch(bool commit);
  [[nodiscard]] bool in_batch() const noexcept { return in_batch_; }

  /// Runs `body` in one transaction, rolled back when it fails. Inside an open batch it is a
  /// savepoint instead: all or none, made durable by the batch's commit.
  template <typename F>
  auto transaction(const std::string& context, F&& body) -> decltype(body()) {
    if (in_batch_) {
      if (auto b = exec("SAVEPOINT nested", "begin " + context); !b) return b.error();
      auto result = body();
      if (!result) (void)exec("ROLLBACK TO nested", "rollback " + context);
      (void)exec("RELEASE nested", "release " + context);
      return result;
    }
    if (auto b = run(begin_, "begin " + context); !b) return b.error();
    auto result = body();
    if (!result) {
      (void)run(rollback_, "rollback " + context);
      return result;
    }
    if (auto c = run(commit_, "commit " + context); !c) {
      (void)run(rollback_, "rollback " + context);
      return c.error();
    }
    return result;
  }

 private:
  Result<void> migrate();
  /// Prepares `sql` and steps it to its first row.
  Result<Stmt> first_row(const char* sql);

  sqlite3* db_ = nullptr;
  std::filesystem::path path_;
  Schema schema_;
  bool in_batch_ = false;
  // Finalized in ~Database before the connection closes.
  Stmt begin_, commit_, rollback_;
};

}  // namespace bngkit::bng::sqlite
