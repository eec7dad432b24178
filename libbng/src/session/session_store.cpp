#include "session_store.hpp"

#include <array>

namespace bngkit::bng::session {
namespace {

using sqlite::bind_blob;
using sqlite::bind_text;
using sqlite::column_bytes;
using sqlite::StmtUse;

// Append only: released files must keep migrating.
constexpr std::array<const char*, 1> kMigrations = {
    // v1: sessions (authorised or active) and undelivered accounting records.
    R"sql(
      CREATE TABLE sessions (
        id              TEXT    PRIMARY KEY,
        key_kind        INTEGER NOT NULL,
        key_value       BLOB    NOT NULL,
        mac             TEXT    NOT NULL DEFAULT '',
        circuit_id      BLOB    NOT NULL DEFAULT x'',
        remote_id       BLOB    NOT NULL DEFAULT x'',
        username        TEXT    NOT NULL,
        state           INTEGER NOT NULL,
        address         INTEGER,
        pool_id         TEXT    NOT NULL DEFAULT '',
        framed_address  INTEGER,
        framed_pool     TEXT    NOT NULL DEFAULT '',
        session_timeout INTEGER NOT NULL DEFAULT 0,
        idle_timeout    INTEGER NOT NULL DEFAULT 0,
        interim         INTEGER NOT NULL DEFAULT 0,
        rate_up         INTEGER NOT NULL DEFAULT 0,
        rate_down       INTEGER NOT NULL DEFAULT 0,
        burst           INTEGER NOT NULL DEFAULT 0,
        filter_id       TEXT    NOT NULL DEFAULT '',
        classes         BLOB    NOT NULL DEFAULT x'',
        created         INTEGER NOT NULL,
        started         INTEGER NOT NULL,
        last_activity   INTEGER NOT NULL,
        last_interim    INTEGER NOT NULL
      );
      CREATE UNIQUE INDEX sessions_by_subscriber ON sessions (key_kind, key_value);
      CREATE TABLE accounting_queue (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        status_type INTEGER NOT NULL,
        created     INTEGER NOT NULL,
        packet      BLOB    NOT NULL
      );
    )sql",
};

constexpr const char* kColumns =
    "id, key_kind, key_value, mac, circuit_id, remote_id, username, state, address, pool_id, framed_address, "
    "framed_pool, session_timeout, idle_timeout, interim, rate_up, rate_down, burst, filter_id, classes, created, "
    "started, last_activity, last_interim";

std::int64_t epoch(std::chrono::sys_seconds t) { return t.time_since_epoch().count(); }
std::chrono::sys_seconds from_epoch(std::int64_t s) { return std::chrono::sys_seconds(std::chrono::seconds(s)); }

// Class values are binary: length-prefixed (2 octets) one after another.
std::string pack(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) {
    out.push_back(static_cast<char>(i.size() >> 8));
    out.push_back(static_cast<char>(i.size() & 0xff));
    out += i;
  }
  return out;
}
std::vector<std::string> unpack(std::string_view in) {
  std::vector<std::string> out;
  while (in.size() >= 2) {
    const std::size_t n = (static_cast<std::uint8_t>(in[0]) << 8) | static_cast<std::uint8_t>(in[1]);
    if (in.size() < 2 + n) break;
    out.emplace_back(in.substr(2, n));
    in.remove_prefix(2 + n);
  }
  return out;
}

void bind_optional_ip(sqlite3_stmt* s, int i, const std::optional<dhcp::Ipv4>& ip) {
  if (ip) {
    sqlite3_bind_int64(s, i, ip->to_host());
  } else {
    sqlite3_bind_null(s, i);
  }
}
std::optional<dhcp::Ipv4> column_ip(sqlite3_stmt* s, int i) {
  if (sqlite3_column_type(s, i) == SQLITE_NULL) return std::nullopt;
  return dhcp::Ipv4::from_host(static_cast<std::uint32_t>(sqlite3_column_int64(s, i)));
}

}  // namespace

Result<void> SessionStore::open(const std::filesystem::path& path) {
  if (auto r = db_.open(path, sqlite::Schema{"session store", kApplicationId, kMigrations}); !r) return r;
  const std::string cols = kColumns;
  for (auto [stmt, sql] : std::initializer_list<std::pair<sqlite::Stmt*, std::string>>{
           {&save_, "INSERT OR REPLACE INTO sessions (" + cols +
                        ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "
                        "?19, ?20, ?21, ?22, ?23, ?24)"},
           {&erase_, "DELETE FROM sessions WHERE id = ?1"},
           {&load_, "SELECT " + cols + " FROM sessions ORDER BY created, id"},
           {&enqueue_, "INSERT INTO accounting_queue (status_type, created, packet) VALUES (?1, ?2, ?3)"},
           {&dequeue_, "DELETE FROM accounting_queue WHERE seq = ?1"},
           {&queued_, "SELECT seq, status_type, created, packet FROM accounting_queue ORDER BY seq"},
           {&drop_oldest_, "DELETE FROM accounting_queue WHERE seq = (SELECT min(seq) FROM accounting_queue "
                           "WHERE status_type = ?1)"},
       }) {
    if (auto r = db_.prepare(*stmt, sql); !r) return r;
  }
  return ok();
}

Result<void> SessionStore::save(const Session& s) {
  StmtUse use(save_);
  sqlite3_stmt* st = use.get();
  const std::string mac = s.mac ? s.mac->to_string() : std::string();
  const std::string classes = pack(s.authorization.classes);
  const auto& a = s.authorization;
  bind_text(st, 1, s.id);
  sqlite3_bind_int(st, 2, static_cast<int>(s.subscriber.kind()));
  bind_blob(st, 3, s.subscriber.bytes());
  bind_text(st, 4, mac);
  bind_blob(st, 5, s.circuit_id);
  bind_blob(st, 6, s.remote_id);
  bind_text(st, 7, s.username);
  sqlite3_bind_int(st, 8, static_cast<int>(s.state));
  bind_optional_ip(st, 9, s.address);
  bind_text(st, 10, s.pool_id);
  bind_optional_ip(st, 11, a.framed_address);
  bind_text(st, 12, a.framed_pool);
  sqlite3_bind_int64(st, 13, a.session_timeout.count());
  sqlite3_bind_int64(st, 14, a.idle_timeout.count());
  sqlite3_bind_int64(st, 15, a.interim_interval.count());
  sqlite3_bind_int64(st, 16, static_cast<std::int64_t>(a.rate.up_bps));
  sqlite3_bind_int64(st, 17, static_cast<std::int64_t>(a.rate.down_bps));
  sqlite3_bind_int64(st, 18, static_cast<std::int64_t>(a.rate.burst_bytes));
  bind_text(st, 19, a.filter_id);
  bind_blob(st, 20, classes);
  sqlite3_bind_int64(st, 21, epoch(s.created));
  sqlite3_bind_int64(st, 22, epoch(s.started));
  sqlite3_bind_int64(st, 23, epoch(s.last_activity));
  sqlite3_bind_int64(st, 24, epoch(s.last_interim));
  return db_.run_bound(use, "save session " + s.id);
}

Result<void> SessionStore::erase(const std::string& id) {
  StmtUse use(erase_);
  bind_text(use.get(), 1, id);
  return db_.run_bound(use, "erase session " + id);
}

Result<std::vector<Session>> SessionStore::load() {
  StmtUse use(load_);
  std::vector<Session> out;
  for (;;) {
    const int rc = sqlite3_step(use.get());
    if (rc == SQLITE_DONE) return out;
    if (rc != SQLITE_ROW) return db_.error(rc, "load sessions");
    sqlite3_stmt* st = use.get();
    Session s;
    s.id = column_bytes(st, 0);
    const int kind = sqlite3_column_int(st, 1);
    const int state = sqlite3_column_int(st, 7);
    if (kind < 1 || kind > 4 || state < 0 || state > static_cast<int>(State::rejected)) {
      return make_error(std::errc::illegal_byte_sequence, "session store: malformed row for session " + s.id);
    }
    s.subscriber = pool::SubscriberKey(static_cast<pool::SubscriberKeyKind>(kind), column_bytes(st, 2));
    if (auto mac = dhcp::MacAddress::parse(column_bytes(st, 3))) s.mac = *mac;
    s.circuit_id = column_bytes(st, 4);
    s.remote_id = column_bytes(st, 5);
    s.username = column_bytes(st, 6);
    s.state = static_cast<State>(state);
    s.address = column_ip(st, 8);
    s.pool_id = column_bytes(st, 9);
    auto& a = s.authorization;
    a.framed_address = column_ip(st, 10);
    a.framed_pool = column_bytes(st, 11);
    a.session_timeout = std::chrono::seconds(sqlite3_column_int64(st, 12));
    a.idle_timeout = std::chrono::seconds(sqlite3_column_int64(st, 13));
    a.interim_interval = std::chrono::seconds(sqlite3_column_int64(st, 14));
    a.rate.up_bps = static_cast<std::uint64_t>(sqlite3_column_int64(st, 15));
    a.rate.down_bps = static_cast<std::uint64_t>(sqlite3_column_int64(st, 16));
    a.rate.burst_bytes = static_cast<std::uint64_t>(sqlite3_column_int64(st, 17));
    a.filter_id = column_bytes(st, 18);
    a.classes = unpack(column_bytes(st, 19));
    s.created = from_epoch(sqlite3_column_int64(st, 20));
    s.started = from_epoch(sqlite3_column_int64(st, 21));
    s.last_activity = from_epoch(sqlite3_column_int64(st, 22));
    s.last_interim = from_epoch(sqlite3_column_int64(st, 23));
    out.push_back(std::move(s));
  }
}

Result<std::int64_t> SessionStore::enqueue(std::uint32_t status_type, std::chrono::sys_seconds created,
                                           std::span<const std::uint8_t> packet) {
  StmtUse use(enqueue_);
  sqlite3_bind_int(use.get(), 1, static_cast<int>(status_type));
  sqlite3_bind_int64(use.get(), 2, epoch(created));
  bind_blob(use.get(), 3, std::string_view(reinterpret_cast<const char*>(packet.data()), packet.size()));
  if (auto r = db_.run_bound(use, "queue accounting record"); !r) return r.error();
  return static_cast<std::int64_t>(sqlite3_last_insert_rowid(db_.handle()));
}

Result<void> SessionStore::dequeue(std::int64_t seq) {
  StmtUse use(dequeue_);
  sqlite3_bind_int64(use.get(), 1, seq);
  return db_.run_bound(use, "dequeue accounting record");
}

Result<std::vector<QueuedRecord>> SessionStore::queued() {
  StmtUse use(queued_);
  std::vector<QueuedRecord> out;
  for (;;) {
    const int rc = sqlite3_step(use.get());
    if (rc == SQLITE_DONE) return out;
    if (rc != SQLITE_ROW) return db_.error(rc, "load accounting queue");
    QueuedRecord r;
    r.seq = sqlite3_column_int64(use.get(), 0);
    r.status_type = static_cast<std::uint32_t>(sqlite3_column_int64(use.get(), 1));
    r.created = from_epoch(sqlite3_column_int64(use.get(), 2));
    const auto bytes = column_bytes(use.get(), 3);
    r.packet.assign(bytes.begin(), bytes.end());
    out.push_back(std::move(r));
  }
}

Result<bool> SessionStore::drop_oldest(std::uint32_t status_type) {
  StmtUse use(drop_oldest_);
  sqlite3_bind_int(use.get(), 1, static_cast<int>(status_type));
  if (auto r = db_.run_bound(use, "drop accounting record"); !r) return r.error();
  return sqlite3_changes(db_.handle()) > 0;
}

}  // namespace bngkit::bng::session
