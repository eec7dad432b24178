// Store over SQLite: schema, WAL + synchronous=FULL, batched durable writes, and online
// backup/restore with sqlite3_backup (one step, so the copy is one consistent snapshot).
#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <bngkit/nexus/store.hpp>
#include <cerrno>
#include <mutex>
#include <system_error>

namespace bngkit::nexus {
namespace {

constexpr int kApplicationId = 0x4e455855;  // "NEXU"
constexpr int kSchemaVersion = 1;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS entries(
  set_name TEXT NOT NULL,
  key      BLOB NOT NULL,
  length   INTEGER NOT NULL,
  hlc      INTEGER NOT NULL,
  origin   TEXT NOT NULL,
  value    BLOB NOT NULL,
  PRIMARY KEY(set_name, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta(
  name  TEXT PRIMARY KEY,
  value BLOB NOT NULL
) WITHOUT ROWID;
)sql";

// SQLite result codes as std::error_code, with SQLite's own wording.
class SqliteCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "sqlite"; }
  std::string message(int rc) const override { return sqlite3_errstr(rc); }
  std::error_condition default_error_condition(int rc) const noexcept override {
    switch (rc & 0xff) {
      case SQLITE_BUSY:
      case SQLITE_LOCKED:
        return std::errc::resource_unavailable_try_again;
      case SQLITE_FULL:
        return std::errc::no_space_on_device;
      case SQLITE_CANTOPEN:
        return std::errc::no_such_file_or_directory;
      case SQLITE_PERM:
      case SQLITE_READONLY:
        return std::errc::permission_denied;
      case SQLITE_NOTADB:
      case SQLITE_CORRUPT:
        return std::errc::illegal_byte_sequence;
      default:
        return std::errc::io_error;
    }
  }
};

const std::error_category& sqlite_category() {
  static const SqliteCategory category;
  return category;
}

Error sqlite_error(int rc, sqlite3* db, const std::string& what) {
  std::string context = what;
  if (db != nullptr) context += " (" + std::string(sqlite3_errmsg(db)) + ")";
  return Error{std::error_code(rc, sqlite_category()), std::move(context)};
}

// Owns one connection.
struct Db {
  sqlite3* handle = nullptr;
  Db() = default;
  explicit Db(sqlite3* h) : handle(h) {}
  Db(Db&& o) noexcept : handle(std::exchange(o.handle, nullptr)) {}
  Db& operator=(Db&& o) noexcept {
    if (this != &o) {
      close();
      handle = std::exchange(o.handle, nullptr);
    }
    return *this;
  }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  ~Db() { close(); }
  void close() noexcept {
    if (handle != nullptr) sqlite3_close_v2(handle);
    handle = nullptr;
  }
};

// Owns one prepared statement.
struct Stmt {
  sqlite3_stmt* s = nullptr;
  Stmt() = default;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt() { sqlite3_finalize(s); }
};

Result<Db> open_db(const std::filesystem::path& path, int flags, std::chrono::milliseconds busy) {
  sqlite3* h = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &h, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  Db db(h);
  if (rc != SQLITE_OK) return sqlite_error(rc, h, "open " + path.string());
  sqlite3_extended_result_codes(h, 1);
  sqlite3_busy_timeout(h, static_cast<int>(busy.count()));
  return db;
}

Result<void> exec(sqlite3* db, const char* sql, const std::string& what) {
  char* msg = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &msg);
  sqlite3_free(msg);
  if (rc != SQLITE_OK) return sqlite_error(rc, db, what);
  return ok();
}

Result<void> prepare(sqlite3* db, const char* sql, Stmt& stmt) {
  const int rc = sqlite3_prepare_v2(db, sql, -1, &stmt.s, nullptr);
  if (rc != SQLITE_OK) return sqlite_error(rc, db, std::string("prepare: ") + sql);
  return ok();
}

// Runs a pragma that returns one value, as text.
Result<std::string> pragma_text(sqlite3* db, const char* sql) {
  Stmt st;
  if (auto r = prepare(db, sql, st); !r) return r.error();
  const int rc = sqlite3_step(st.s);
  if (rc != SQLITE_ROW) return sqlite_error(rc, db, std::string("run ") + sql);
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(st.s, 0));
  return std::string(text != nullptr ? text : "");
}

Result<std::int64_t> pragma_int(sqlite3* db, const char* sql) {
  Stmt st;
  if (auto r = prepare(db, sql, st); !r) return r.error();
  const int rc = sqlite3_step(st.s);
  if (rc != SQLITE_ROW) return sqlite_error(rc, db, std::string("run ") + sql);
  return static_cast<std::int64_t>(sqlite3_column_int64(st.s, 0));
}

// The file is one of ours, of a schema we read, and intact.
Result<void> check_identity(sqlite3* db, const std::string& where) {
  auto app = pragma_int(db, "PRAGMA application_id");
  if (!app) return app.error();
  if (*app != kApplicationId)
    return make_error(std::errc::invalid_argument, where + " is not a nexus store");
  auto version = pragma_int(db, "PRAGMA user_version");
  if (!version) return version.error();
  if (*version != kSchemaVersion)
    return make_error(std::errc::not_supported,
                      where + " has schema version " + std::to_string(*version) +
                          "; this build reads " + std::to_string(kSchemaVersion));
  return ok();
}

Result<void> fsync_path(const std::filesystem::path& p, bool directory) {
  const int fd = ::open(p.c_str(), (directory ? O_DIRECTORY : 0) | O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_error(errno, "open " + p.string() + " to sync it");
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return errno_error(err, "fsync " + p.string());
  return ok();
}

std::filesystem::path parent_or_dot(const std::filesystem::path& p) {
  return p.has_parent_path() ? p.parent_path() : std::filesystem::path(".");
}

// Copies all of `src` into `dst` in one backup step: one read transaction, one snapshot.
Result<void> copy_database(sqlite3* dst, sqlite3* src, const std::string& what) {
  sqlite3_backup* b = sqlite3_backup_init(dst, "main", src, "main");
  if (b == nullptr) return sqlite_error(sqlite3_errcode(dst), dst, what);
  const int step = sqlite3_backup_step(b, -1);
  const int fin = sqlite3_backup_finish(b);
  if (step != SQLITE_DONE) return sqlite_error(step, dst, what);
  if (fin != SQLITE_OK) return sqlite_error(fin, dst, what);
  return ok();
}

}  // namespace

struct Store::Impl {
  std::filesystem::path path;
  StoreOptions options;
  mutable std::mutex mu;
  Db db;
};

Store::Store(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
Store::Store(Store&&) noexcept = default;
Store& Store::operator=(Store&&) noexcept = default;
Store::~Store() = default;

const std::filesystem::path& Store::path() const noexcept { return impl_->path; }

Result<Store> Store::open(const std::filesystem::path& path, const StoreOptions& options) {
  const bool existed = std::filesystem::exists(path);
  if (!existed && !options.create)
    return make_error(std::errc::no_such_file_or_directory, "no nexus store at " + path.string());
  int flags = SQLITE_OPEN_READWRITE;
  if (options.create) flags |= SQLITE_OPEN_CREATE;
  auto db = open_db(path, flags, options.busy_timeout);
  if (!db) return db.error();
  sqlite3* h = db->handle;

  // WAL: readers (backups) never block the writer; FULL: every commit syncs the WAL, so an
  // acknowledged write survives power loss, not only a process crash.
  auto mode = pragma_text(h, "PRAGMA journal_mode=WAL");
  if (!mode) return mode.error();
  if (*mode != "wal")
    return make_error(std::errc::not_supported,
                      path.string() + ": journal mode is '" + *mode + "', WAL is required");
  if (auto r = exec(h, "PRAGMA synchronous=FULL", "set synchronous=FULL"); !r) return r.error();

  auto app = pragma_int(h, "PRAGMA application_id");
  if (!app) return app.error();
  if (*app == 0) {
    // A new file (or an empty SQLite database): lay down the schema.
    auto tables = pragma_int(h, "SELECT count(*) FROM sqlite_schema");
    if (!tables) return tables.error();
    if (*tables != 0)
      return make_error(std::errc::invalid_argument,
                        path.string() + " is an SQLite database but not a nexus store");
    const std::string init = std::string("BEGIN IMMEDIATE;") + kSchema +
                             "PRAGMA application_id=" + std::to_string(kApplicationId) +
                             ";PRAGMA user_version=" + std::to_string(kSchemaVersion) + ";COMMIT;";
    if (auto r = exec(h, init.c_str(), "create schema in " + path.string()); !r) {
      (void)exec(h, "ROLLBACK", "rollback");
      return r.error();
    }
    // The new file's directory entry must be durable too.
    if (!existed) {
      if (auto r = fsync_path(parent_or_dot(path), true); !r) return r.error();
    }
  }
  if (auto r = check_identity(h, path.string()); !r) return r.error();

  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->options = options;
  impl->db = std::move(*db);
  return Store(std::move(impl));
}

Result<void> Store::write(const WriteBatch& batch) {
  return write(std::span<const WriteBatch>(&batch, 1));
}

Result<void> Store::write(std::span<const WriteBatch> batches) {
  if (std::all_of(batches.begin(), batches.end(), [](const WriteBatch& b) { return b.empty(); }))
    return ok();
  std::lock_guard lock(impl_->mu);
  sqlite3* h = impl_->db.handle;
  if (auto r = exec(h, "BEGIN IMMEDIATE", "begin write"); !r) return r;
  auto one = [&](const WriteBatch& batch) -> Result<void> {
    if (!batch.entries.empty()) {
      Stmt st;
      if (auto r = prepare(h,
                           "INSERT INTO entries(set_name,key,length,hlc,origin,value) "
                           "VALUES(?1,?2,?3,?4,?5,?6) ON CONFLICT(set_name,key) DO UPDATE SET "
                           "length=excluded.length,hlc=excluded.hlc,origin=excluded.origin,"
                           "value=excluded.value",
                           st);
          !r)
        return r;
      for (const auto& e : batch.entries) {
        sqlite3_bind_text(st.s, 1, e.set.data(), static_cast<int>(e.set.size()), SQLITE_STATIC);
        sqlite3_bind_blob(st.s, 2, e.key.data(), static_cast<int>(e.key.size()), SQLITE_STATIC);
        sqlite3_bind_int64(st.s, 3, static_cast<sqlite3_int64>(e.length));
        sqlite3_bind_int64(st.s, 4, static_cast<sqlite3_int64>(e.hlc));
        sqlite3_bind_text(st.s, 5, e.origin.data(), static_cast<int>(e.origin.size()),
                          SQLITE_STATIC);
        sqlite3_bind_blob(st.s, 6, e.value.data(), static_cast<int>(e.value.size()), SQLITE_STATIC);
        const int rc = sqlite3_step(st.s);
        if (rc != SQLITE_DONE) return sqlite_error(rc, h, "write entry of " + e.set);
        sqlite3_reset(st.s);
      }
    }
    if (!batch.meta.empty()) {
      Stmt st;
      if (auto r = prepare(h,
                           "INSERT INTO meta(name,value) VALUES(?1,?2) "
                           "ON CONFLICT(name) DO UPDATE SET value=excluded.value",
                           st);
          !r)
        return r;
      for (const auto& [name, value] : batch.meta) {
        sqlite3_bind_text(st.s, 1, name.data(), static_cast<int>(name.size()), SQLITE_STATIC);
        sqlite3_bind_blob(st.s, 2, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
        const int rc = sqlite3_step(st.s);
        if (rc != SQLITE_DONE) return sqlite_error(rc, h, "write meta " + name);
        sqlite3_reset(st.s);
      }
    }
    if (!batch.meta_erase.empty()) {
      Stmt st;
      if (auto r = prepare(h, "DELETE FROM meta WHERE name=?1", st); !r) return r;
      for (const auto& name : batch.meta_erase) {
        sqlite3_bind_text(st.s, 1, name.data(), static_cast<int>(name.size()), SQLITE_STATIC);
        const int rc = sqlite3_step(st.s);
        if (rc != SQLITE_DONE) return sqlite_error(rc, h, "erase meta " + name);
        sqlite3_reset(st.s);
      }
    }
    return ok();
  };
  auto body = [&]() -> Result<void> {
    for (const auto& b : batches)
      if (auto r = one(b); !r) return r;
    return ok();
  };
  if (auto r = body(); !r) {
    (void)exec(h, "ROLLBACK", "rollback");
    return r;
  }
  if (auto r = exec(h, "COMMIT", "commit"); !r) {
    (void)exec(h, "ROLLBACK", "rollback");
    return r;
  }
  return ok();
}

namespace {

std::string column_bytes(sqlite3_stmt* st, int col) {
  const void* p = sqlite3_column_blob(st, col);
  const int n = sqlite3_column_bytes(st, col);
  return p == nullptr ? std::string()
                      : std::string(static_cast<const char*>(p), static_cast<std::size_t>(n));
}

}  // namespace

Result<std::vector<StoredEntry>> Store::load(std::string_view set) const {
  std::lock_guard lock(impl_->mu);
  sqlite3* h = impl_->db.handle;
  Stmt st;
  if (auto r = prepare(h,
                       "SELECT key,length,hlc,origin,value FROM entries WHERE set_name=?1 "
                       "ORDER BY key",
                       st);
      !r)
    return r.error();
  sqlite3_bind_text(st.s, 1, set.data(), static_cast<int>(set.size()), SQLITE_STATIC);
  std::vector<StoredEntry> out;
  int rc = 0;
  while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) {
    StoredEntry e;
    e.set.assign(set);
    e.key = column_bytes(st.s, 0);
    e.length = static_cast<std::uint64_t>(sqlite3_column_int64(st.s, 1));
    e.hlc = static_cast<std::uint64_t>(sqlite3_column_int64(st.s, 2));
    e.origin = column_bytes(st.s, 3);
    e.value = column_bytes(st.s, 4);
    out.push_back(std::move(e));
  }
  if (rc != SQLITE_DONE) return sqlite_error(rc, h, "load " + std::string(set));
  return out;
}

Result<std::optional<std::string>> Store::meta(std::string_view name) const {
  std::lock_guard lock(impl_->mu);
  sqlite3* h = impl_->db.handle;
  Stmt st;
  if (auto r = prepare(h, "SELECT value FROM meta WHERE name=?1", st); !r) return r.error();
  sqlite3_bind_text(st.s, 1, name.data(), static_cast<int>(name.size()), SQLITE_STATIC);
  const int rc = sqlite3_step(st.s);
  if (rc == SQLITE_DONE) return std::optional<std::string>();
  if (rc != SQLITE_ROW) return sqlite_error(rc, h, "read meta " + std::string(name));
  return std::optional<std::string>(column_bytes(st.s, 0));
}

Result<std::vector<std::pair<std::string, std::string>>> Store::meta_with_prefix(
    std::string_view prefix) const {
  std::lock_guard lock(impl_->mu);
  sqlite3* h = impl_->db.handle;
  Stmt st;
  // Range scan [prefix, prefix + 0xff...) instead of LIKE, which treats % and _ specially.
  if (auto r = prepare(h, "SELECT name,value FROM meta WHERE name>=?1 ORDER BY name", st); !r)
    return r.error();
  sqlite3_bind_text(st.s, 1, prefix.data(), static_cast<int>(prefix.size()), SQLITE_STATIC);
  std::vector<std::pair<std::string, std::string>> out;
  int rc = 0;
  while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) {
    std::string name = column_bytes(st.s, 0);
    if (name.compare(0, prefix.size(), prefix) != 0) break;
    out.emplace_back(std::move(name), column_bytes(st.s, 1));
  }
  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    return sqlite_error(rc, h, "read meta " + std::string(prefix) + "*");
  return out;
}

Result<void> Store::backup(const std::filesystem::path& destination) const {
  // Own read-only connection: a WAL reader holds one snapshot and blocks nobody.
  auto src = open_db(impl_->path, SQLITE_OPEN_READONLY, impl_->options.busy_timeout);
  if (!src) return src.error();
  std::filesystem::path tmp = destination;
  tmp += ".partial";
  std::error_code ec;
  std::filesystem::remove(tmp, ec);
  {
    auto dst =
        open_db(tmp, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, impl_->options.busy_timeout);
    if (!dst) return dst.error();
    if (auto r = copy_database(dst->handle, src->handle, "back up " + impl_->path.string()); !r) {
      dst->close();
      std::filesystem::remove(tmp, ec);
      return r;
    }
    // A backup is one self-contained file: no WAL beside it.
    auto mode = pragma_text(dst->handle, "PRAGMA journal_mode=DELETE");
    if (!mode) return mode.error();
  }
  if (auto r = verify(tmp); !r) {
    std::filesystem::remove(tmp, ec);
    return r;
  }
  if (auto r = fsync_path(tmp, false); !r) return r;
  std::filesystem::rename(tmp, destination, ec);
  if (ec) return Error{ec, "rename backup into " + destination.string()};
  return fsync_path(parent_or_dot(destination), true);
}

Result<void> Store::verify(const std::filesystem::path& file) {
  if (!std::filesystem::exists(file))
    return make_error(std::errc::no_such_file_or_directory, "no backup at " + file.string());
  auto db = open_db(file, SQLITE_OPEN_READONLY, std::chrono::milliseconds(5000));
  if (!db) return db.error();
  auto check = pragma_text(db->handle, "PRAGMA quick_check");
  if (!check) return check.error();
  if (*check != "ok")
    return make_error(std::errc::illegal_byte_sequence,
                      file.string() + " failed its integrity check: " + *check);
  return check_identity(db->handle, file.string());
}

Result<void> Store::restore(const std::filesystem::path& source) {
  if (auto r = verify(source); !r) return r;
  auto src = open_db(source, SQLITE_OPEN_READONLY, impl_->options.busy_timeout);
  if (!src) return src.error();
  std::lock_guard lock(impl_->mu);
  sqlite3* h = impl_->db.handle;
  // The backup API writes the destination in one transaction, synced (synchronous=FULL).
  if (auto r = copy_database(h, src->handle,
                             "restore " + source.string() + " into " + impl_->path.string());
      !r)
    return r;
  auto mode = pragma_text(h, "PRAGMA journal_mode=WAL");
  if (!mode) return mode.error();
  if (*mode != "wal")
    return make_error(std::errc::io_error, "store left WAL mode after restore: " + *mode);
  return check_identity(h, impl_->path.string());
}

Result<Store::Durability> Store::durability() const {
  std::lock_guard lock(impl_->mu);
  auto mode = pragma_text(impl_->db.handle, "PRAGMA journal_mode");
  if (!mode) return mode.error();
  auto sync = pragma_int(impl_->db.handle, "PRAGMA synchronous");
  if (!sync) return sync.error();
  return Durability{*mode, static_cast<int>(*sync)};
}

}  // namespace bngkit::nexus
