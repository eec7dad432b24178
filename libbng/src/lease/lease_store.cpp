// LeaseStore on SQLite: WAL journal with synchronous=FULL so every committed transaction is
// fsynced before the call returns; prepared statements reused under one mutex; schema
// migrations keyed by PRAGMA user_version.
#include "../sqlite/database.hpp"

#include <array>
#include <bngkit/bng/lease/lease_store.hpp>
#include <mutex>
#include <string>
#include <utility>

namespace bngkit::bng::lease {
namespace {

using sqlite::bind_blob;
using sqlite::bind_text;
using sqlite::column_bytes;
using sqlite::Stmt;
using sqlite::StmtUse;

// ---- Schema -----------------------------------------------------------------------------

// migrations[i] takes the schema from version i to version i + 1. Append only: a released
// build's files must keep migrating.
constexpr std::array<const char*, 2> kMigrations = {
    // v1: the leases table. Addresses are host-order integers; the rowid is the address.
    R"sql(
      CREATE TABLE leases (
        address    INTEGER PRIMARY KEY CHECK (address BETWEEN 0 AND 4294967295),
        pool_id    TEXT    NOT NULL,
        key_kind   INTEGER NOT NULL,
        key_value  BLOB    NOT NULL,
        state      INTEGER NOT NULL CHECK (state BETWEEN 0 AND 3),
        expires    INTEGER NOT NULL,
        hostname   TEXT    NOT NULL DEFAULT '',
        circuit_id BLOB    NOT NULL DEFAULT x'',
        remote_id  BLOB    NOT NULL DEFAULT x'',
        last_seen  INTEGER NOT NULL
      );
      -- A subscriber holds at most one offered/bound address per pool.
      CREATE UNIQUE INDEX leases_one_per_subscriber
        ON leases (pool_id, key_kind, key_value) WHERE state IN (0, 1);
      CREATE INDEX leases_by_subscriber ON leases (key_kind, key_value);
      CREATE INDEX leases_by_expiry ON leases (expires) WHERE state IN (0, 1, 2);
    )sql",
    // v2: a view for operators reading the file with the sqlite3 shell.
    R"sql(
      CREATE VIEW leases_readable AS SELECT
        (address >> 24) || '.' || ((address >> 16) & 255) || '.' ||
          ((address >> 8) & 255) || '.' || (address & 255) AS address,
        pool_id,
        CASE key_kind WHEN 1 THEN 'mac' WHEN 2 THEN 'client-id' WHEN 3 THEN 'circuit-id'
                      WHEN 4 THEN 'remote-id' ELSE 'kind-' || key_kind END
          || ':' || lower(hex(key_value)) AS subscriber,
        CASE state WHEN 0 THEN 'offered' WHEN 1 THEN 'bound' WHEN 2 THEN 'declined'
                   ELSE 'released' END AS state,
        datetime(expires, 'unixepoch') AS expires_utc,
        hostname,
        circuit_id,
        remote_id,
        datetime(last_seen, 'unixepoch') AS last_seen_utc
      FROM leases;
    )sql",
};
static_assert(kMigrations.size() == LeaseStore::kSchemaVersion);

constexpr const char* kColumns =
    "address, pool_id, key_kind, key_value, state, expires, hostname, circuit_id, remote_id, "
    "last_seen";

void bind_key(sqlite3_stmt* s, int i, const SubscriberKey& k) {
  sqlite3_bind_int(s, i, static_cast<int>(k.kind()));
  bind_blob(s, i + 1, k.bytes());
}

// Reads one row selected with kColumns.
Result<Lease> read_lease(sqlite3_stmt* s) {
  Lease l;
  const std::int64_t address = sqlite3_column_int64(s, 0);
  const int kind = sqlite3_column_int(s, 2);
  const int state = sqlite3_column_int(s, 4);
  if (address < 0 || address > 0xffffffffLL || kind < 1 || kind > 4 || state < 0 || state > 3) {
    return make_error(std::errc::illegal_byte_sequence,
                      "lease store: malformed row for address " + std::to_string(address));
  }
  l.address = Ipv4::from_host(static_cast<std::uint32_t>(address));
  l.pool_id = column_bytes(s, 1);
  l.subscriber = SubscriberKey(static_cast<pool::SubscriberKeyKind>(kind), column_bytes(s, 3));
  l.state = static_cast<LeaseState>(state);
  l.expires = from_epoch_seconds(sqlite3_column_int64(s, 5));
  l.hostname = column_bytes(s, 6);
  l.circuit_id = column_bytes(s, 7);
  l.remote_id = column_bytes(s, 8);
  l.last_seen = from_epoch_seconds(sqlite3_column_int64(s, 9));
  return l;
}

}  // namespace

struct LeaseStore::Impl {
  sqlite::Database db;
  std::mutex mu;
  // Declared after db: finalized before the connection closes.
  Stmt upsert, erase, find_address, find_subscriber, load_all, count, select_expired,
      release_expired, delete_expired, prune;

  Error error(int rc, const std::string& context) const { return db.error(rc, context); }

  // Collects every row of a bound statement.
  Result<std::vector<Lease>> rows(const StmtUse& use, const std::string& context) {
    std::vector<Lease> out;
    for (;;) {
      const int rc = sqlite3_step(use.get());
      if (rc == SQLITE_DONE) return out;
      if (rc != SQLITE_ROW) return error(rc, context);
      auto l = read_lease(use.get());
      if (!l) return std::move(l).error();
      out.push_back(std::move(*l));
    }
  }

  Result<void> upsert_one(const Lease& l) {
    StmtUse use(upsert);
    sqlite3_stmt* s = use.get();
    sqlite3_bind_int64(s, 1, l.address.to_host());
    bind_text(s, 2, l.pool_id);
    bind_key(s, 3, l.subscriber);
    sqlite3_bind_int(s, 5, static_cast<int>(l.state));
    sqlite3_bind_int64(s, 6, to_epoch_seconds(l.expires));
    bind_text(s, 7, l.hostname);
    bind_blob(s, 8, l.circuit_id);
    bind_blob(s, 9, l.remote_id);
    sqlite3_bind_int64(s, 10, to_epoch_seconds(l.last_seen));
    const int rc = sqlite3_step(s);
    if (rc == SQLITE_CONSTRAINT_UNIQUE) {
      return make_error(std::errc::address_in_use,
                        "lease store: " + l.subscriber.to_string() +
                            " already has an offered or bound lease in pool " + l.pool_id +
                            " (cannot also hold " + l.address.to_string() + ")");
    }
    if (rc != SQLITE_DONE) return error(rc, "upsert lease " + l.address.to_string());
    return ok();
  }

  Result<void> prepare_statements() {
    const std::string cols = kColumns;
    for (auto [stmt, sql] : std::initializer_list<std::pair<Stmt*, std::string>>{
             {&upsert, "INSERT INTO leases (" + cols +
                           ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
                           "ON CONFLICT (address) DO UPDATE SET pool_id = excluded.pool_id, "
                           "key_kind = excluded.key_kind, key_value = excluded.key_value, "
                           "state = excluded.state, expires = excluded.expires, "
                           "hostname = excluded.hostname, circuit_id = excluded.circuit_id, "
                           "remote_id = excluded.remote_id, last_seen = excluded.last_seen"},
             {&erase, "DELETE FROM leases WHERE address = ?1"},
             {&find_address, "SELECT " + cols + " FROM leases WHERE address = ?1"},
             {&find_subscriber, "SELECT " + cols +
                                    " FROM leases WHERE key_kind = ?1 AND key_value = ?2 "
                                    "AND state IN (0, 1, 2) ORDER BY address"},
             {&load_all, "SELECT " + cols + " FROM leases ORDER BY last_seen, address"},
             {&count, "SELECT count(*) FROM leases"},
             {&select_expired, "SELECT " + cols +
                                   " FROM leases WHERE state IN (0, 1, 2) AND expires <= ?1 "
                                   "ORDER BY expires, address"},
             // "state IN (0, 1, 2)" repeats leases_by_expiry's condition: SQLite uses a
             // partial index only for a query naming that term, and without it these two
             // scan every lease each expiry round (once a second).
             {&release_expired,
              "UPDATE leases SET state = 3 WHERE state IN (0, 1, 2) AND state IN (0, 1) "
              "AND expires <= ?1"},
             {&delete_expired,
              "DELETE FROM leases WHERE state IN (0, 1, 2) AND state = 2 AND expires <= ?1"},
             {&prune, "DELETE FROM leases WHERE state = 3 AND last_seen < ?1"},
         }) {
      if (auto r = db.prepare(*stmt, sql); !r) return r;
    }
    return ok();
  }
};

LeaseStore::LeaseStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LeaseStore::LeaseStore(LeaseStore&&) noexcept = default;
LeaseStore& LeaseStore::operator=(LeaseStore&&) noexcept = default;
LeaseStore::~LeaseStore() = default;

Result<LeaseStore> LeaseStore::open(const std::filesystem::path& path) {
  auto impl = std::make_unique<Impl>();
  const sqlite::Schema schema{"lease store", kApplicationId, kMigrations};
  if (auto r = impl->db.open(path, schema); !r) return r.error();
  if (auto r = impl->prepare_statements(); !r) return r.error();
  return LeaseStore(std::move(impl));
}

Result<LeaseStore::Batch> LeaseStore::begin_batch() {
  std::lock_guard lock(impl_->mu);
  if (auto b = impl_->db.begin_batch(); !b) return b.error();
  return Batch(this);
}

Result<void> LeaseStore::end_batch(bool commit) {
  std::lock_guard lock(impl_->mu);
  return impl_->db.end_batch(commit);
}

LeaseStore::Batch::Batch(Batch&& other) noexcept : store_(std::exchange(other.store_, nullptr)) {}
LeaseStore::Batch::~Batch() {
  if (store_ != nullptr) (void)store_->end_batch(false);
}
Result<void> LeaseStore::Batch::commit() {
  if (store_ == nullptr) {
    return make_error(std::errc::invalid_argument, "lease store batch already ended");
  }
  return std::exchange(store_, nullptr)->end_batch(true);
}

Result<void> LeaseStore::upsert(const Lease& lease) {
  std::lock_guard lock(impl_->mu);
  return impl_->upsert_one(lease);
}

Result<void> LeaseStore::upsert(std::span<const Lease> leases) {
  std::lock_guard lock(impl_->mu);
  return impl_->db.transaction("batch upsert", [&]() -> Result<void> {
    for (const auto& l : leases) {
      if (auto r = impl_->upsert_one(l); !r) return r;
    }
    return ok();
  });
}

Result<bool> LeaseStore::erase(Ipv4 address) {
  std::lock_guard lock(impl_->mu);
  StmtUse use(impl_->erase);
  sqlite3_bind_int64(use.get(), 1, address.to_host());
  if (auto r = impl_->db.run_bound(use, "erase lease " + address.to_string()); !r) return r.error();
  return sqlite3_changes(impl_->db.handle()) > 0;
}

Result<std::optional<Lease>> LeaseStore::find(Ipv4 address) {
  std::lock_guard lock(impl_->mu);
  StmtUse use(impl_->find_address);
  sqlite3_bind_int64(use.get(), 1, address.to_host());
  auto rows = impl_->rows(use, "find lease " + address.to_string());
  if (!rows) return std::move(rows).error();
  if (rows->empty()) return std::optional<Lease>();
  return std::optional<Lease>(std::move(rows->front()));
}

Result<std::vector<Lease>> LeaseStore::find(const SubscriberKey& subscriber) {
  std::lock_guard lock(impl_->mu);
  StmtUse use(impl_->find_subscriber);
  bind_key(use.get(), 1, subscriber);
  return impl_->rows(use, "find leases of " + subscriber.to_string());
}

Result<std::vector<Lease>> LeaseStore::load_all() {
  std::lock_guard lock(impl_->mu);
  StmtUse use(impl_->load_all);
  return impl_->rows(use, "load leases");
}

Result<std::size_t> LeaseStore::count() {
  std::lock_guard lock(impl_->mu);
  StmtUse use(impl_->count);
  const int rc = sqlite3_step(use.get());
  if (rc != SQLITE_ROW) return impl_->error(rc, "count leases");
  return static_cast<std::size_t>(sqlite3_column_int64(use.get(), 0));
}

Result<std::vector<Lease>> LeaseStore::expire(std::chrono::sys_seconds now) {
  std::lock_guard lock(impl_->mu);
  const std::int64_t t = to_epoch_seconds(now);
  return impl_->db.transaction("expire", [&]() -> Result<std::vector<Lease>> {
    std::vector<Lease> expired;
    {
      StmtUse use(impl_->select_expired);
      sqlite3_bind_int64(use.get(), 1, t);
      auto rows = impl_->rows(use, "select expired leases");
      if (!rows) return std::move(rows).error();
      expired = std::move(*rows);
    }
    for (Stmt* s : {&impl_->release_expired, &impl_->delete_expired}) {
      StmtUse use(*s);
      sqlite3_bind_int64(use.get(), 1, t);
      if (auto r = impl_->db.run_bound(use, "expire leases"); !r) return r.error();
    }
    return expired;
  });
}

Result<std::size_t> LeaseStore::prune_released(std::chrono::sys_seconds before) {
  std::lock_guard lock(impl_->mu);
  StmtUse use(impl_->prune);
  sqlite3_bind_int64(use.get(), 1, to_epoch_seconds(before));
  if (auto r = impl_->db.run_bound(use, "prune released leases"); !r) return r.error();
  return static_cast<std::size_t>(sqlite3_changes(impl_->db.handle()));
}

Result<int> LeaseStore::schema_version() {
  std::lock_guard lock(impl_->mu);
  auto v = impl_->db.query_int("PRAGMA user_version");
  if (!v) return std::move(v).error();
  return static_cast<int>(*v);
}

const std::filesystem::path& LeaseStore::path() const noexcept { return impl_->db.path(); }

}  // namespace bngkit::bng::lease
