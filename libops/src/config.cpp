// Config conventions: env expansion, durations, secrets, keyed errors.
#include <bngkit/ops/config.hpp>

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace bngkit::ops {

Result<std::string> expand_env(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '$') {
      out.push_back('$');
      ++i;
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '{') {
      const auto close = text.find('}', i + 2);
      if (close == std::string_view::npos) {
        return make_error(std::errc::invalid_argument, "unterminated ${ in \"" + std::string(text) + "\"");
      }
      const std::string name(text.substr(i + 2, close - i - 2));
      if (name.empty()) return make_error(std::errc::invalid_argument, "empty ${} in config string");
      const char* value = std::getenv(name.c_str());
      if (value == nullptr) {
        return make_error(std::errc::invalid_argument, "environment variable " + name + " is not set");
      }
      out += value;
      i = close;
      continue;
    }
    out.push_back('$');
  }
  return out;
}

Result<std::chrono::milliseconds> parse_duration(std::string_view text) {
  const std::string original(text);
  auto bad = [&](const std::string& why) {
    return make_error(std::errc::invalid_argument,
                      "bad duration \"" + original + "\": " + why + " (use e.g. \"30s\", \"5m\", \"250ms\")");
  };
  if (text.empty()) return bad("empty");
  std::int64_t total_ms = 0;
  bool any = false;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    if (i == start) return bad("expected a number at \"" + std::string(text.substr(start)) + "\"");
    if (i - start > 12) return bad("number too large");
    const std::int64_t n = std::stoll(std::string(text.substr(start, i - start)));
    std::size_t unit_start = i;
    while (i < text.size() && !(text[i] >= '0' && text[i] <= '9')) ++i;
    const auto unit = text.substr(unit_start, i - unit_start);
    std::int64_t factor = 0;
    if (unit.empty() && !any && i == text.size()) factor = 1000;  // bare integer: seconds
    else if (unit == "ms") factor = 1;
    else if (unit == "s") factor = 1000;
    else if (unit == "m") factor = 60'000;
    else if (unit == "h") factor = 3'600'000;
    else if (unit == "d") factor = 86'400'000;
    else return bad("unknown unit \"" + std::string(unit) + "\"");
    // "999999999999d" is a number a signed 64-bit product cannot hold: refuse, not overflow.
    if (n > (INT64_MAX - total_ms) / factor) return bad("too large");
    total_ms += n * factor;
    any = true;
  }
  return std::chrono::milliseconds(total_ms);
}

Result<toml::table> load_toml_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return errno_error(errno ? errno : ENOENT, "cannot read config " + path);
  try {
    return toml::parse(in, path);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << path << ":" << e.source().begin.line << ":" << e.source().begin.column << ": " << e.description();
    return make_error(std::errc::invalid_argument, msg.str());
  }
}

Result<void> check_secret_file_mode(const std::string& path, std::string_view what) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return errno_error(errno, "cannot stat " + path);
  if ((st.st_mode & S_IROTH) == 0) return ok();
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  return make_error(std::errc::permission_denied,
                    path + " holds " + std::string(what) + " but every user can read it (mode " + mode +
                        "): run chmod o-r " + path);
}

ConfigReader::ConfigReader(const toml::table& table, std::string path, std::vector<std::string>* errors)
    : table_(&table), path_(std::move(path)), errors_(errors) {}

std::string ConfigReader::key_path(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

void ConfigReader::fail(std::string_view key, std::string_view message) {
  errors_->push_back(key_path(key) + ": " + std::string(message));
}

bool ConfigReader::has(std::string_view key) const { return table_->contains(key); }

std::vector<std::string> ConfigReader::keys() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : *table_) out.emplace_back(k.str());
  return out;
}

namespace {
// Whether a string says more than ${VAR} references (so the file itself holds secret text).
bool has_literal_text(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '$' && i + 1 < text.size() && text[i + 1] == '{') {
      const auto close = text.find('}', i + 2);
      if (close == std::string_view::npos) return true;
      i = close;
      continue;
    }
    return true;
  }
  return false;
}

const char* type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::table: return "table";
    case toml::node_type::array: return "array";
    case toml::node_type::string: return "string";
    case toml::node_type::integer: return "integer";
    case toml::node_type::floating_point: return "float";
    case toml::node_type::boolean: return "boolean";
    default: return "date/time";
  }
}
}  // namespace

std::optional<std::string> ConfigReader::string(std::string_view key, bool required) {
  const toml::node* n = table_->get(key);
  if (n == nullptr) {
    if (required) fail(key, "is required");
    return std::nullopt;
  }
  const auto* s = n->as_string();
  if (s == nullptr) {
    fail(key, std::string("expected a string, found ") + type_name(*n));
    return std::nullopt;
  }
  auto expanded = expand_env(s->get());
  if (!expanded) {
    fail(key, expanded.error().message());
    return std::nullopt;
  }
  return std::move(expanded).value();
}

std::optional<std::int64_t> ConfigReader::integer(std::string_view key, bool required, std::int64_t min,
                                                  std::int64_t max) {
  const toml::node* n = table_->get(key);
  if (n == nullptr) {
    if (required) fail(key, "is required");
    return std::nullopt;
  }
  const auto* i = n->as_integer();
  if (i == nullptr) {
    fail(key, std::string("expected an integer, found ") + type_name(*n));
    return std::nullopt;
  }
  if (i->get() < min || i->get() > max) {
    fail(key, "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", found " +
                  std::to_string(i->get()));
    return std::nullopt;
  }
  return i->get();
}

std::optional<bool> ConfigReader::boolean(std::string_view key, bool required) {
  const toml::node* n = table_->get(key);
  if (n == nullptr) {
    if (required) fail(key, "is required");
    return std::nullopt;
  }
  const auto* b = n->as_boolean();
  if (b == nullptr) {
    fail(key, std::string("expected true or false, found ") + type_name(*n));
    return std::nullopt;
  }
  return b->get();
}

std::optional<std::chrono::milliseconds> ConfigReader::duration(std::string_view key, bool required) {
  const toml::node* n = table_->get(key);
  if (n == nullptr) {
    if (required) fail(key, "is required");
    return std::nullopt;
  }
  if (const auto* i = n->as_integer()) {
    if (i->get() < 0) {
      fail(key, "must not be negative");
      return std::nullopt;
    }
    if (i->get() > INT64_MAX / 1000) {  // seconds that do not fit in milliseconds
      fail(key, "is too large (" + std::to_string(i->get()) + " seconds)");
      return std::nullopt;
    }
    return std::chrono::seconds(i->get());
  }
  if (const auto* s = n->as_string()) {
    auto d = parse_duration(s->get());
    if (!d) {
      fail(key, d.error().message());
      return std::nullopt;
    }
    return *d;
  }
  fail(key, std::string("expected a duration such as \"30s\", found ") + type_name(*n));
  return std::nullopt;
}

std::optional<std::vector<std::string>> ConfigReader::string_list(std::string_view key, bool required) {
  const toml::node* n = table_->get(key);
  if (n == nullptr) {
    if (required) fail(key, "is required");
    return std::nullopt;
  }
  const auto* arr = n->as_array();
  if (arr == nullptr) {
    fail(key, std::string("expected an array of strings, found ") + type_name(*n));
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const auto* s = (*arr)[i].as_string();
    if (s == nullptr) {
      fail(std::string(key) + "[" + std::to_string(i) + "]", "expected a string");
      return std::nullopt;
    }
    auto expanded = expand_env(s->get());
    if (!expanded) {
      fail(std::string(key) + "[" + std::to_string(i) + "]", expanded.error().message());
      return std::nullopt;
    }
    out.push_back(std::move(expanded).value());
  }
  return out;
}

std::optional<std::string> ConfigReader::secret(std::string_view key, bool required) {
  const std::string file_key = std::string(key) + "_file";
  const bool inline_present = has(key);
  const bool file_present = has(file_key);
  if (inline_present && file_present) {
    fail(key, "set either " + std::string(key) + " or " + file_key + ", not both");
    return std::nullopt;
  }
  if (file_present) {
    auto path = string(file_key, true);
    if (!path) return std::nullopt;
    std::ifstream in(*path);
    if (!in) {
      fail(file_key, "cannot read secret file " + *path);
      return std::nullopt;
    }
    if (auto mode = check_secret_file_mode(*path, "the secret " + key_path(key)); !mode) {
      fail(file_key, mode.error().context);
      return std::nullopt;
    }
    std::string value((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
    if (value.empty()) {
      fail(file_key, "secret file " + *path + " is empty");
      return std::nullopt;
    }
    return value;
  }
  if (!inline_present) {
    if (required) fail(key, "is required (or " + file_key + ")");
    return std::nullopt;
  }
  const toml::node* n = table_->get(key);
  const auto* s = n->as_string();
  if (s == nullptr) {
    fail(key, "expected a string");
    return std::nullopt;
  }
  // Written inline (not only ${ENV}): the config file itself holds the secret, so it must
  // not be world-readable. Text parsed from memory has no source file to check.
  if (const auto& source = n->source().path; source && has_literal_text(s->get())) {
    struct stat st {};
    if (::stat(source->c_str(), &st) == 0 && (st.st_mode & S_IROTH) != 0) {
      auto mode = check_secret_file_mode(*source, "the secret " + key_path(key) + " inline");
      fail(key, mode.error().context + ", or move the secret to " + file_key + " or ${ENV}");
      return std::nullopt;
    }
  }
  auto expanded = expand_env(s->get());
  if (!expanded) {
    fail(key, expanded.error().message());  // names the variable, never the value
    return std::nullopt;
  }
  return std::move(expanded).value();
}

std::optional<ConfigReader> ConfigReader::table(std::string_view key, bool required) {
  const toml::node* n = table_->get(key);
  if (n == nullptr) {
    if (required) fail(key, "is required");
    return std::nullopt;
  }
  const auto* t = n->as_table();
  if (t == nullptr) {
    fail(key, std::string("expected a table, found ") + type_name(*n));
    return std::nullopt;
  }
  return ConfigReader(*t, key_path(key), errors_);
}

std::vector<ConfigReader> ConfigReader::table_array(std::string_view key) {
  std::vector<ConfigReader> out;
  const toml::node* n = table_->get(key);
  if (n == nullptr) return out;
  const auto* arr = n->as_array();
  if (arr == nullptr || !arr->is_array_of_tables()) {
    fail(key, "expected an array of tables ([[" + key_path(key) + "]])");
    return out;
  }
  for (std::size_t i = 0; i < arr->size(); ++i) {
    out.emplace_back(*(*arr)[i].as_table(), key_path(key) + "[" + std::to_string(i) + "]", errors_);
  }
  return out;
}

void ConfigReader::reject_unknown(std::initializer_list<std::string_view> known) {
  for (const auto& [k, v] : *table_) {
    bool found = false;
    for (auto kk : known) found = found || kk == k.str();
    if (!found) fail(k.str(), "unknown key");
  }
}

}  // namespace bngkit::ops
