// Config conventions: ${ENV}, durations, secrets and their files, keyed errors.
#include <bngkit/ops/config.hpp>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace bngkit::ops {
namespace {

TEST(ExpandEnv, ReplacesAndNamesUnsetVariables) {
  ::setenv("BNGKIT_TEST_SECRET", "s3cret", 1);
  ::unsetenv("BNGKIT_TEST_UNSET");
  EXPECT_EQ(expand_env("a-${BNGKIT_TEST_SECRET}-b").value(), "a-s3cret-b");
  EXPECT_EQ(expand_env("cost $$5").value(), "cost $5");
  auto r = expand_env("${BNGKIT_TEST_UNSET}");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().context, "environment variable BNGKIT_TEST_UNSET is not set");
  EXPECT_FALSE(expand_env("${OPEN").ok());
}

TEST(ParseDuration, UnitsAndErrors) {
  using namespace std::chrono_literals;
  EXPECT_EQ(parse_duration("30s").value(), 30s);
  EXPECT_EQ(parse_duration("5m").value(), 5min);
  EXPECT_EQ(parse_duration("250ms").value(), 250ms);
  EXPECT_EQ(parse_duration("1h30m").value(), 90min);
  EXPECT_EQ(parse_duration("45").value(), 45s);
  EXPECT_FALSE(parse_duration("").ok());
  EXPECT_FALSE(parse_duration("5x").ok());
  EXPECT_FALSE(parse_duration("s").ok());
  EXPECT_NE(parse_duration("10 parsecs").error().message().find("unknown unit"), std::string::npos);
}

TEST(ParseDuration, TooLargeIsAnErrorNotAnOverflow) {
  // 12 digits of days, or a sum past 2^63 ms, overflowed a signed 64-bit product (UB).
  auto days = parse_duration("999999999999d");
  ASSERT_FALSE(days.ok());
  EXPECT_NE(days.error().message().find("too large"), std::string::npos) << days.error().message();
  EXPECT_FALSE(parse_duration("106751991168d").ok());
  EXPECT_FALSE(parse_duration("106751991167d999999999h").ok());
  EXPECT_EQ(parse_duration("106751991167d").value(), std::chrono::hours(106751991167LL * 24));

  auto table = toml::parse("a = 9223372036854775807\nb = 9223372036854775\n");
  std::vector<std::string> errors;
  ConfigReader root(table, "", &errors);
  EXPECT_FALSE(root.duration("a"));
  EXPECT_EQ(root.duration("b").value(), std::chrono::seconds(9223372036854775LL));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], "a: is too large (9223372036854775807 seconds)");
}

TEST(ConfigReader, TypedAccessWithKeyedErrors) {
  auto table = toml::parse(R"(
    [radius]
    timeout = "5s"
    retries = "three"
    [[radius.servers]]
    host = "127.0.0.1"
    port = 70000
    typo = 1
  )");
  std::vector<std::string> errors;
  ConfigReader root(table, "", &errors);
  auto radius = root.table("radius", true);
  ASSERT_TRUE(radius);
  EXPECT_EQ(radius->duration("timeout").value(), std::chrono::seconds(5));
  EXPECT_FALSE(radius->integer("retries"));
  auto servers = radius->table_array("servers");
  ASSERT_EQ(servers.size(), 1u);
  EXPECT_EQ(servers[0].string("host").value(), "127.0.0.1");
  EXPECT_FALSE(servers[0].integer("port", true, 1, 65535));
  servers[0].reject_unknown({"host", "port", "secret", "secret_file"});
  EXPECT_FALSE(servers[0].secret("secret", true));
  ASSERT_EQ(errors.size(), 4u);
  EXPECT_EQ(errors[0], "radius.retries: expected an integer, found string");
  EXPECT_EQ(errors[1], "radius.servers[0].port: must be between 1 and 65535, found 70000");
  EXPECT_EQ(errors[2], "radius.servers[0].typo: unknown key");
  EXPECT_EQ(errors[3], "radius.servers[0].secret: is required (or secret_file)");
}

TEST(ConfigReader, SecretFromFileAndNeverInErrors) {
  const auto path = std::filesystem::temp_directory_path() / ("bngkit-secret-" + std::to_string(::getpid()));
  { std::ofstream(path) << "hunter2\n"; }
  std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  auto table = toml::parse("a_file = \"" + path.string() + "\"\nb = \"x\"\nb_file = \"/nonexistent\"\n");
  std::vector<std::string> errors;
  ConfigReader root(table, "radius", &errors);
  EXPECT_EQ(root.secret("a").value(), "hunter2");
  EXPECT_FALSE(root.secret("b"));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], "radius.b: set either b or b_file, not both");
  std::filesystem::remove(path);
}

// A scratch directory removed at the end of the test.
struct TempDir {
  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("bngkit-perm-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
  static inline int counter = 0;
  TempDir() { std::filesystem::create_directories(path); }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string write(const std::string& name, const std::string& text, std::filesystem::perms mode) const {
    const auto p = path / name;
    { std::ofstream(p) << text; }
    std::filesystem::permissions(p, mode);
    return p.string();
  }
};

using std::filesystem::perms;
constexpr perms k0644 = perms::owner_read | perms::owner_write | perms::group_read | perms::others_read;
constexpr perms k0640 = perms::owner_read | perms::owner_write | perms::group_read;

// Reads [radius] secret the way the daemons do: the table parsed from a file on disk.
std::vector<std::string> secret_errors(const std::string& config_path) {
  auto table = load_toml_file(config_path);
  EXPECT_TRUE(table.ok()) << table.error().message();
  std::vector<std::string> errors;
  ConfigReader root(*table, "", &errors);
  if (auto radius = root.table("radius")) (void)radius->secret("secret", true);
  return errors;
}

TEST(ConfigReader, InlineSecretInAWorldReadableFileIsRefused) {
  TempDir dir;
  const std::string text = "[radius]\nsecret = \"hunter2-inline\"\n";
  const auto open = dir.write("open.toml", text, k0644);
  auto errors = secret_errors(open);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], "radius.secret: " + open + " holds the secret radius.secret inline but every user can read it "
                       "(mode 0644): run chmod o-r " + open + ", or move the secret to secret_file or ${ENV}");
  EXPECT_EQ(errors[0].find("hunter2"), std::string::npos) << "never the value";
  EXPECT_TRUE(secret_errors(dir.write("closed.toml", text, k0640)).empty());
  // Only ${ENV} references: the file holds no secret, so its mode does not matter.
  ::setenv("BNGKIT_TEST_PERM_SECRET", "from-env", 1);
  EXPECT_TRUE(secret_errors(dir.write("env.toml", "[radius]\nsecret = \"${BNGKIT_TEST_PERM_SECRET}\"\n", k0644)).empty());
  // Part literal, part ${ENV}: the literal part is in the file.
  EXPECT_EQ(secret_errors(dir.write("mixed.toml", "[radius]\nsecret = \"x${BNGKIT_TEST_PERM_SECRET}\"\n", k0644)).size(), 1u);
  // Parsed from memory: no file to check.
  auto table = toml::parse(text);
  std::vector<std::string> none;
  EXPECT_EQ(ConfigReader(table, "", &none).table("radius")->secret("secret").value(), "hunter2-inline");
  EXPECT_TRUE(none.empty());
}

TEST(ConfigReader, WorldReadableSecretFileIsRefused) {
  TempDir dir;
  const auto secret = dir.write("radius.secret", "hunter2\n", k0644);
  const auto config = dir.write("bng.toml", "[radius]\nsecret_file = \"" + secret + "\"\n", k0644);
  auto errors = secret_errors(config);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], "radius.secret_file: " + secret + " holds the secret radius.secret but every user can read "
                       "it (mode 0644): run chmod o-r " + secret);
  std::filesystem::permissions(secret, k0640);
  EXPECT_TRUE(secret_errors(config).empty()) << "a world-readable config naming a private secret file is fine";
}

TEST(CheckSecretFileMode, NamesFileModeAndFix) {
  TempDir dir;
  EXPECT_TRUE(check_secret_file_mode(dir.write("a", "x", perms::owner_read), "a token").ok());
  auto r = check_secret_file_mode(dir.write("b", "x", k0644 | perms::others_write), "a token");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().context.find("holds a token but every user can read it (mode 0646): run chmod o-r "),
            std::string::npos)
      << r.error().context;
  EXPECT_FALSE(check_secret_file_mode((dir.path / "missing").string(), "a token").ok());
}

TEST(LoadTomlFile, ErrorsCarryLineAndColumn) {
  const auto path = std::filesystem::temp_directory_path() / ("bngkit-bad-" + std::to_string(::getpid()) + ".toml");
  { std::ofstream(path) << "[olt]\nid = \"x\"\ncapacity = = 3\n"; }
  auto r = load_toml_file(path.string());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find(path.string() + ":3:"), std::string::npos) << r.error().message();
  std::filesystem::remove(path);
  EXPECT_FALSE(load_toml_file("/nonexistent/bng.toml").ok());
}

}  // namespace
}  // namespace bngkit::ops
