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
  auto table = toml::parse("a_file = \"" + path.string() + "\"\nb = \"x\"\nb_file = \"/nonexistent\"\n");
  std::vector<std::string> errors;
  ConfigReader root(table, "radius", &errors);
  EXPECT_EQ(root.secret("a").value(), "hunter2");
  EXPECT_FALSE(root.secret("b"));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], "radius.b: set either b or b_file, not both");
  std::filesystem::remove(path);
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
