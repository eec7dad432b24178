// SessionStore: sessions and the accounting queue on disk (one SQLite file, WAL +
// synchronous=FULL), so that a restarted daemon knows its subscribers and still owes the
// RADIUS servers every accounting record it had not delivered. Internal to libbng.
#pragma once

#include "../sqlite/database.hpp"

#include <bngkit/bng/session/session.hpp>

#include <cstdint>
#include <filesystem>
#include <vector>

namespace bngkit::bng::session {

/// One queued Accounting-Request: its attributes as serialised (identifier and
/// authenticator are the sender's), when it was made, and what kind it is.
struct QueuedRecord {
  std::int64_t seq = 0;
  std::uint32_t status_type = 0;  ///< Acct-Status-Type
  std::chrono::sys_seconds created{};
  std::vector<std::uint8_t> packet;
};

class SessionStore {
 public:
  static constexpr std::int32_t kApplicationId = 0x424E4753;  // "BNGS"

  [[nodiscard]] Result<void> open(const std::filesystem::path& path);

  [[nodiscard]] Result<void> save(const Session& session);
  [[nodiscard]] Result<void> erase(const std::string& session_id);
  [[nodiscard]] Result<std::vector<Session>> load();

  [[nodiscard]] Result<std::int64_t> enqueue(std::uint32_t status_type, std::chrono::sys_seconds created,
                                             std::span<const std::uint8_t> packet);
  [[nodiscard]] Result<void> dequeue(std::int64_t seq);
  [[nodiscard]] Result<std::vector<QueuedRecord>> queued();
  /// Removes the oldest queued record of `status_type`; false when there is none.
  [[nodiscard]] Result<bool> drop_oldest(std::uint32_t status_type);

  /// Group commit: writes until end_batch() share one transaction (one fsync).
  [[nodiscard]] Result<void> begin_batch() { return db_.begin_batch(); }
  [[nodiscard]] Result<void> end_batch() { return db_.end_batch(true); }
  [[nodiscard]] bool in_batch() const noexcept { return db_.in_batch(); }

 private:
  sqlite::Database db_;
  sqlite::Stmt save_, erase_, load_, enqueue_, dequeue_, queued_, drop_oldest_;
};

}  // namespace bngkit::bng::session
