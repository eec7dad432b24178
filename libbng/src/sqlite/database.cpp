#include "database.hpp"

namespace bngkit::bng::sqlite {
namespace {

class SqliteCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "sqlite"; }
  std::string message(int rc) const override { return sqlite3_errstr(rc); }
  std::error_condition default_error_condition(int rc) const noexcept override {
    switch (rc & 0xff) {
      case SQLITE_BUSY:
      case SQLITE_LOCKED:
        return std::errc::device_or_resource_busy;
      case SQLITE_FULL:
        return std::errc::no_space_on_device;
      case SQLITE_READONLY:
        return std::errc::read_only_file_system;
      case SQLITE_PERM:
      case SQLITE_AUTH:
        return std::errc::permission_denied;
      case SQLITE_CANTOPEN:
        return std::errc::no_such_file_or_directory;
      case SQLITE_NOMEM:
        return std::errc::not_enough_memory;
      case SQLITE_CONSTRAINT:
        return std::errc::invalid_argument;
      default:
        return std::errc::io_error;
    }
  }
};

}  // namespace

const std::error_category& category() noexcept {
  static const SqliteCategory c;
  return c;
}

void bind_text(sqlite3_stmt* s, int i, std::string_view v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
}
void bind_blob(sqlite3_stmt* s, int i, std::string_view v) {
  sqlite3_bind_blob(s, i, v.empty() ? "" : v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
}
std::string column_bytes(sqlite3_stmt* s, int i) {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(s, i));
  const int n = sqlite3_column_bytes(s, i);
  return p == nullptr ? std::string() : std::string(p, static_cast<std::size_t>(n));
}

Database::~Database() {
  begin_ = Stmt();
  commit_ = Stmt();
  rollback_ = Stmt();
  sqlite3_close_v2(db_);
}

Error Database::error(int rc, const std::string& context) const {
  std::string what = std::string(schema_.kind) + " " + path_.string() + ": " + context;
  if (db_ != nullptr) {
    what += ": ";
    what += sqlite3_errmsg(db_);
  }
  return Error{std::error_code(rc, category()), std::move(what)};
}

Result<void> Database::exec(const char* sql, const std::string& context) {
  char* msg = nullptr;
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &msg);
  if (rc != SQLITE_OK) {
    std::string what = context + ": " + (msg ? msg : sqlite3_errstr(rc));
    sqlite3_free(msg);
    return Error{std::error_code(rc, category()),
                 std::string(schema_.kind) + " " + path_.string() + ": " + what};
  }
  return ok();
}

Result<Stmt> Database::first_row(const char* sql) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql, -1, &raw, nullptr);
  Stmt s(raw);
  if (rc != SQLITE_OK) return error(rc, sql);
  rc = sqlite3_step(s.get());
  if (rc != SQLITE_ROW) return error(rc, sql);
  return s;
}

Result<std::int64_t> Database::query_int(const char* sql) {
  auto row = first_row(sql);
  if (!row) return std::move(row).error();
  return sqlite3_column_int64(row->get(), 0);
}

Result<std::string> Database::query_text(const char* sql) {
  auto row = first_row(sql);
  if (!row) return std::move(row).error();
  const auto* t = sqlite3_column_text(row->get(), 0);
  return std::string(t ? reinterpret_cast<const char*>(t) : "");
}

Result<void> Database::prepare(Stmt& out, const std::string& sql) {
  sqlite3_stmt* raw = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
  if (rc != SQLITE_OK) return error(rc, "prepare " + sql);
  out = Stmt(raw);
  return ok();
}

Result<void> Database::run(const Stmt& s, const std::string& context) {
  StmtUse use(s);
  return run_bound(use, context);
}

Result<void> Database::run_bound(const StmtUse& use, const std::string& context) {
  const int rc = sqlite3_step(use.get());
  if (rc != SQLITE_DONE) return error(rc, context);
  return ok();
}

Result<void> Database::begin_batch() {
  if (in_batch_) {
    return make_error(std::errc::operation_in_progress,
                      std::string(schema_.kind) + " " + path_.string() + ": a batch is already open");
  }
  if (auto b = run(begin_, "begin batch"); !b) return b;
  in_batch_ = true;
  return ok();
}

Result<void> Database::end_batch(bool commit) {
  in_batch_ = false;
  if (!commit) return run(rollback_, "rollback batch");
  auto committed = run(commit_, "commit batch");
  if (!committed) (void)run(rollback_, "rollback batch");
  return committed;
}

Result<void> Database::open(const std::filesystem::path& path, const Schema& schema) {
  path_ = path;
  schema_ = schema;
  const int rc = sqlite3_open_v2(path.c_str(), &db_,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                 nullptr);
  if (rc != SQLITE_OK) return error(rc, "open");
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, 5000);
  if (auto m = migrate(); !m) return m;
  for (auto [stmt, sql] : {std::pair{&begin_, "BEGIN IMMEDIATE"}, std::pair{&commit_, "COMMIT"},
                           std::pair{&rollback_, "ROLLBACK"}}) {
    if (auto r = prepare(*stmt, sql); !r) return r;
  }
  return ok();
}

Result<void> Database::migrate() {
  const std::string name = std::string(schema_.kind) + " " + path_.string();
  const auto newest = static_cast<std::int64_t>(schema_.migrations.size());
  auto app_id = query_int("PRAGMA application_id");
  if (!app_id) return app_id.error();
  auto version = query_int("PRAGMA user_version");
  if (!version) return version.error();
  if (*app_id != 0 && *app_id != schema_.application_id) {
    return make_error(std::errc::invalid_argument, name + ": not a bngkit " + std::string(schema_.kind) +
                                                       " (application_id " + std::to_string(*app_id) + ")");
  }
  if (*app_id == 0) {
    // A fresh file has no tables; anything else belongs to somebody else.
    auto tables = query_int("SELECT count(*) FROM sqlite_schema");
    if (!tables) return tables.error();
    if (*tables != 0) {
      return make_error(std::errc::invalid_argument,
                        name + ": not a bngkit " + std::string(schema_.kind) + " (it holds other tables)");
    }
  }
  if (*version > newest) {
    return make_error(std::errc::protocol_not_supported,
                      name + ": schema version " + std::to_string(*version) +
                          " is newer than this build supports (" + std::to_string(newest) + ")");
  }

  // WAL: readers never block the writer and a commit is one append + fsync. Must be set
  // outside a transaction; it is persistent in the file.
  auto mode = query_text("PRAGMA journal_mode=WAL");
  if (!mode) return mode.error();
  if (*mode != "wal") {
    return make_error(std::errc::not_supported, name + ": cannot use WAL journal (got " + *mode + ")");
  }
  // FULL: the WAL is fsynced at every commit, so acknowledged state survives power loss.
  if (auto r = exec("PRAGMA synchronous=FULL", "set synchronous"); !r) return r;

  if (*version == newest) return ok();
  if (auto r = exec("BEGIN IMMEDIATE", "begin migration"); !r) return r;
  for (auto v = *version; v < newest; ++v) {
    auto step = exec(schema_.migrations[static_cast<std::size_t>(v)],
                     "migrate schema to version " + std::to_string(v + 1));
    if (step) {
      const std::string set = "PRAGMA user_version=" + std::to_string(v + 1) +
                              "; PRAGMA application_id=" + std::to_string(schema_.application_id);
      step = exec(set.c_str(), "set schema version");
    }
    if (!step) {
      (void)exec("ROLLBACK", "rollback migration");
      return step;
    }
  }
  return exec("COMMIT", "commit migration");
}

}  // namespace bngkit::bng::sqlite
