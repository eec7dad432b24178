// Config-file conventions shared by the daemons: TOML via toml++, ${ENV} expansion,
// `*_file` secrets, durations with units, and errors that name the offending key.
#pragma once

#include <bngkit/common/result.hpp>
#include <bngkit/ops/export.hpp>

#include <toml++/toml.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bngkit::ops {

/// Replaces each ${NAME} with the environment variable NAME. An unset variable is an
/// error naming it; "$$" stands for a literal "$".
BNGKIT_OPS_EXPORT Result<std::string> expand_env(std::string_view text);

/// Parses "30s", "5m", "2h", "250ms", "1h30m" (or a bare integer of seconds).
BNGKIT_OPS_EXPORT Result<std::chrono::milliseconds> parse_duration(std::string_view text);

/// Reads a TOML file. Errors carry file:line:column and the parser's message.
BNGKIT_OPS_EXPORT Result<toml::table> load_toml_file(const std::string& path);

/// Refuses a file that holds a secret when every local user may read it (mode & 0004).
/// `what` says what the secret is ("radius.servers[0].secret"); the error names the file,
/// its mode and the fix. A path that cannot be stat()ed is an error too.
BNGKIT_OPS_EXPORT Result<void> check_secret_file_mode(const std::string& path, std::string_view what);

/// Typed access to one TOML table that remembers where it is ("radius.servers[1]") so
/// every error names the full key. Collects errors rather than stopping at the first.
class BNGKIT_OPS_EXPORT ConfigReader {
 public:
  ConfigReader(const toml::table& table, std::string path, std::vector<std::string>* errors);

  [[nodiscard]] bool has(std::string_view key) const;
  /// The keys of this table (sorted).
  [[nodiscard]] std::vector<std::string> keys() const;
  /// Strings get ${ENV} expansion.
  std::optional<std::string> string(std::string_view key, bool required = false);
  std::optional<std::int64_t> integer(std::string_view key, bool required = false,
                                      std::int64_t min = INT64_MIN, std::int64_t max = INT64_MAX);
  std::optional<bool> boolean(std::string_view key, bool required = false);
  /// A duration string ("30s") or an integer of seconds.
  std::optional<std::chrono::milliseconds> duration(std::string_view key, bool required = false);
  std::optional<std::vector<std::string>> string_list(std::string_view key, bool required = false);
  /// A secret from `key` or from the file named by `key_file` (trailing newline trimmed).
  /// Both present is an error. The secret's value never appears in an error. A secret
  /// file readable by every user is refused, and so is a secret written inline (not only
  /// ${ENV}) in a config file readable by every user: the file toml++ parsed it from (its
  /// source path) is checked, so every daemon reading its config through this gets it.
  std::optional<std::string> secret(std::string_view key, bool required = false);
  /// A sub-table, or nullopt (error if present with another type, or required and absent).
  std::optional<ConfigReader> table(std::string_view key, bool required = false);
  /// An array of tables ([[key]]), empty when absent.
  std::vector<ConfigReader> table_array(std::string_view key);
  /// Reports keys of this table not in `known` (typos in a config are errors, not silence).
  void reject_unknown(std::initializer_list<std::string_view> known);
  /// Adds an error about `key` of this table.
  void fail(std::string_view key, std::string_view message);

  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  [[nodiscard]] std::string key_path(std::string_view key) const;
  const toml::table* table_;
  std::string path_;
  std::vector<std::string>* errors_;
};

}  // namespace bngkit::ops
