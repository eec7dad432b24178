// The Nexus HTTP API through the router: the shapes of shared/API.md, statuses, clear errors
// for bad input (malformed JSON, wrong types, unknown fields, bad addresses), the bearer
// token on writes, subscriber ids with slashes, and the admin actions.
#include <gtest/gtest.h>

#include <bngkit/nexus/api.hpp>
#include <bngkit/nexus/model.hpp>
#include <bngkit/nexus/store.hpp>
#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>

namespace bngkit::nexus {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

std::string str(const json::value& v) {
  return v.is_string() ? std::string(v.as_string()) : json::serialize(v);
}

struct Reply {
  int status = 0;
  json::value body;
  std::string raw;
  std::vector<std::pair<std::string, std::string>> headers;
  [[nodiscard]] std::string error() const {
    return body.is_object() && body.as_object().contains("error")
               ? std::string(body.at("error").as_string())
               : "";
  }
};

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override { make({}); }

  void make(ApiOptions o) {
    now_ = 1'700'000'000'000;
    ModelOptions mo;
    mo.replica_id = "n1";
    mo.now_ms = [this] { return now_; };
    model_ = std::move(Model::open(store_, mo)).value();
    router_ = std::make_unique<ops::Router>();
    if (!o.resync) o.resync = [this] { ++resyncs_; };
    add_api_routes(*router_, *model_, std::move(o));
  }

  Reply call(const std::string& method, const std::string& target, const std::string& body = "",
             const std::string& token = "") {
    ops::Request req;
    req.method = method;
    const auto q = target.find('?');
    req.raw_path = target.substr(0, q);
    req.path = ops::url_decode(req.raw_path).value_or(req.raw_path);
    if (q != std::string::npos) {
      std::string rest = target.substr(q + 1);
      while (!rest.empty()) {
        const auto amp = rest.find('&');
        const std::string part = rest.substr(0, amp);
        const auto eq = part.find('=');
        req.query[*ops::url_decode(part.substr(0, eq))] = *ops::url_decode(part.substr(eq + 1));
        rest = amp == std::string::npos ? "" : rest.substr(amp + 1);
      }
    }
    req.body = body;
    if (!token.empty()) req.headers["authorization"] = "Bearer " + token;
    auto res = router_->dispatch(req);
    Reply r{res.status, nullptr, res.body, res.headers};
    if (!res.body.empty()) r.body = json::parse(res.body);
    return r;
  }

  std::int64_t now_ = 0;
  Store* store_ = nullptr;
  std::unique_ptr<Model> model_;
  std::unique_ptr<ops::Router> router_;
  int resyncs_ = 0;
};

TEST_F(ApiTest, PoolsCrud) {
  auto r =
      call("POST", "/api/v1/pools",
           R"({"id":"res","cidr":"10.0.1.0/24","gateway":"10.0.1.1","dns":["10.0.1.1","8.8.8.8"],
                    "exclusions":["10.0.1.250/31","10.0.1.200"],"reservations":{"cpe-7":"10.0.1.7"},
                    "lease_ttl":600})");
  ASSERT_EQ(r.status, 201) << r.raw;
  EXPECT_EQ(r.body.at("id"), "res");
  EXPECT_EQ(r.body.at("cidr"), "10.0.1.0/24");
  EXPECT_EQ(r.body.at("gateway"), "10.0.1.1");
  EXPECT_EQ(r.body.at("exclusions").as_array().size(), 2U);
  EXPECT_EQ(r.body.at("exclusions").at(1), "10.0.1.200/32");
  EXPECT_EQ(r.body.at("reservations").at("cpe-7"), "10.0.1.7");
  EXPECT_EQ(r.body.at("lease_ttl"), 600);
  // 256 - network - broadcast - gateway - 3 excluded - 1 reserved = 249
  EXPECT_EQ(r.body.at("usage").at("usable"), 249);
  // The same definition again is not an error; another one with that id is a conflict.
  r = call("POST", "/api/v1/pools",
           R"({"id":"res","cidr":"10.0.1.0/24","gateway":"10.0.1.1","dns":["10.0.1.1","8.8.8.8"],
               "exclusions":["10.0.1.250/31","10.0.1.200"],"reservations":{"cpe-7":"10.0.1.7"},
               "lease_ttl":600})");
  EXPECT_EQ(r.status, 200) << r.raw;
  r = call("POST", "/api/v1/pools", R"({"id":"res","cidr":"10.0.2.0/24"})");
  EXPECT_EQ(r.status, 409);
  EXPECT_NE(r.error().find("another definition"), std::string::npos) << r.raw;

  ASSERT_EQ(
      call("POST", "/api/v1/pools", R"({"id":"v6","cidr":"2001:db8::/48","delegated_length":56})")
          .status,
      201);
  r = call("GET", "/api/v1/pools");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body.at("count"), 2);
  EXPECT_EQ(r.body.at("pools").as_array().size(), 2U);
  r = call("GET", "/api/v1/pools/v6");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body.at("delegated_length"), 56);
  EXPECT_TRUE(r.body.at("gateway").is_null());

  r = call("PUT", "/api/v1/pools/v6", R"({"cidr":"2001:db8::/48","delegated_length":60})");
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body.at("delegated_length"), 60);
  r = call("PUT", "/api/v1/pools/v6", R"({"id":"other","cidr":"2001:db8::/48"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.error().find("does not match"), std::string::npos);
  EXPECT_EQ(call("PUT", "/api/v1/pools/nope", R"({"cidr":"10.9.0.0/24"})").status, 404);

  EXPECT_EQ(call("DELETE", "/api/v1/pools/v6").status, 204);
  EXPECT_EQ(call("GET", "/api/v1/pools/v6").status, 404);
  r = call("DELETE", "/api/v1/pools/v6");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.error(), "no pool v6");
}

TEST_F(ApiTest, BadInputGetsA400ThatSaysWhatIsWrong) {
  struct Case {
    const char* body;
    const char* says;
  };
  const Case cases[] = {
      {"", "needs a JSON object body"},
      {"{\"id\":", "not valid JSON"},
      {"[1,2]", "must be a JSON object"},
      {R"({"cidr":"10.0.0.0/24"})", "\"id\" is required"},
      {R"({"id":"p"})", "\"cidr\" is required"},
      {R"({"id":5,"cidr":"10.0.0.0/24"})", "\"id\" must be a string"},
      {R"({"id":"p","cidr":"10.0.0.0/33"})", "is not a CIDR"},
      {R"({"id":"p","cidr":"banana"})", "\"banana\" is not a CIDR"},
      {R"({"id":"p","cidr":"10.0.0.0/24","gateway":"10.0.0.300"})",
       "\"gateway\": \"10.0.0.300\" is not an IP"},
      {R"({"id":"p","cidr":"10.0.0.0/24","gateway":"10.0.1.1"})", "outside"},
      {R"({"id":"p","cidr":"10.0.0.0/24","dns":"10.0.0.1"})",
       "\"dns\" must be an array of strings"},
      {R"({"id":"p","cidr":"10.0.0.0/24","lease_ttl":-5})", "\"lease_ttl\" must be between 1 and"},
      {R"({"id":"p","cidr":"10.0.0.0/24","lease_ttl":"1h"})", "\"lease_ttl\" must be an integer"},
      {R"({"id":"p","cidr":"10.0.0.0/24","lease_ttl":18446744073709551615})",
       "\"lease_ttl\" must be between"},
      {R"({"id":"p","cidr":"10.0.0.0/24","lease_ttl":3600.5})", "\"lease_ttl\" must be an integer"},
      {R"({"id":"p","cidr":"10.0.0.0/24","cidrr":"x"})", "unknown field \"cidrr\""},
      {R"({"id":"p","cidr":"10.0.0.0/24","reservations":{"a":5}})",
       "\"reservations.a\" must be a string"},
      {R"({"id":"p","cidr":"10.0.0.0/24","reservations":{"a":"10.0.0.0"}})",
       "reservation 10.0.0.0 for a"},
  };
  for (const auto& c : cases) {
    auto r = call("POST", "/api/v1/pools", c.body);
    EXPECT_EQ(r.status, 400) << c.body << " -> " << r.raw;
    EXPECT_NE(r.error().find(c.says), std::string::npos) << c.body << " -> " << r.raw;
  }
  auto r = call("POST", "/api/v1/allocations", R"({"pool_id":"p"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.error().find("\"subscriber_id\" is required"), std::string::npos);
  r = call("POST", "/api/v1/allocations", R"({"pool_id":"p","subscriber_id":"s","ttl":0})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.error().find("\"ttl\" must be between 1"), std::string::npos);
  r = call("POST", "/api/v1/allocations", R"({"pool_id":"nope","subscriber_id":"s"})");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.error(), "no pool nope");
  r = call("POST", "/api/v1/nodes", R"({"id":"olt","metadata":{"rack":1}})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.error().find("\"metadata.rack\" must be a string"), std::string::npos);
  r = call("POST", "/api/v1/allocations", R"({"pool_id":"p","subscriber_id":"s\u0001"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.error().find("subscriber id must be 1-256 printable characters"), std::string::npos);
  EXPECT_EQ(call("GET", "/api/v1/nope").status, 404);
  EXPECT_EQ(call("PATCH", "/api/v1/pools").status, 405);
}

TEST_F(ApiTest, AllocationsCreateListGetRenewRelease) {
  ASSERT_EQ(
      call("POST", "/api/v1/pools", R"({"id":"p","cidr":"10.0.0.0/29","lease_ttl":3600})").status,
      201);
  auto r = call("POST", "/api/v1/allocations",
                R"({"pool_id":"p","subscriber_id":"circuit-id:olt1/1/1"})");
  ASSERT_EQ(r.status, 201) << r.raw;
  const std::string ip(r.body.at("ip").as_string());
  EXPECT_EQ(r.body.at("pool_id"), "p");
  EXPECT_EQ(r.body.at("subscriber_id"), "circuit-id:olt1/1/1");
  EXPECT_EQ(r.body.at("node_id"), "n1");
  EXPECT_EQ(r.body.at("expires_at"), "2023-11-14T23:13:20.000Z");
  // Asking again returns the existing allocation.
  r = call("POST", "/api/v1/allocations",
           R"({"pool_id":"p","subscriber_id":"circuit-id:olt1/1/1"})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(str(r.body.at("ip")), ip);

  r = call("GET", "/api/v1/allocations?pool_id=p");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body.at("count"), 1);
  EXPECT_EQ(call("GET", "/api/v1/allocations?pool_id=nope").status, 404);
  // A subscriber id with slashes travels escaped in the path.
  r = call("GET", "/api/v1/allocations/circuit-id:olt1%2F1%2F1");
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(str(r.body.at("ip")), ip);
  r = call("GET", "/api/v1/allocations/circuit-id:olt1%2F1%2F1?pool_id=p");
  EXPECT_EQ(r.status, 200);

  now_ += 1000 * 1000;
  r = call("POST", "/api/v1/allocations/circuit-id:olt1%2F1%2F1/renew", R"({"ttl":60})");
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(str(r.body.at("expires_at")), rfc3339(now_ + 60'000));
  r = call("POST", "/api/v1/allocations/circuit-id:olt1%2F1%2F1/renew?pool_id=p");
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(str(r.body.at("expires_at")), rfc3339(now_ + 3'600'000));
  EXPECT_EQ(call("POST", "/api/v1/allocations/ghost/renew").status, 404);

  // Exhaustion: /29 has 6 hosts.
  for (int i = 0; i < 5; ++i)
    ASSERT_EQ(call("POST", "/api/v1/allocations",
                   R"({"pool_id":"p","subscriber_id":"s)" + std::to_string(i) + "\"}")
                  .status,
              201);
  r = call("POST", "/api/v1/allocations", R"({"pool_id":"p","subscriber_id":"one-too-many"})");
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.error().find("no free address"), std::string::npos) << r.raw;
  r = call("GET", "/api/v1/pools/p");
  EXPECT_EQ(r.body.at("usage").at("allocated"), 6);
  EXPECT_EQ(r.body.at("usage").at("utilisation").as_double(), 1.0);

  // A subscriber in two pools must say which.
  ASSERT_EQ(call("POST", "/api/v1/pools", R"({"id":"q","cidr":"10.1.0.0/24"})").status, 201);
  ASSERT_EQ(call("POST", "/api/v1/allocations", R"({"pool_id":"q","subscriber_id":"s0"})").status,
            201);
  r = call("GET", "/api/v1/allocations/s0");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.error().find("choose one with ?pool_id="), std::string::npos) << r.raw;
  r = call("GET", "/api/v1/allocations?subscriber_id=s0");
  EXPECT_EQ(r.body.at("count"), 2);

  EXPECT_EQ(call("DELETE", "/api/v1/allocations/s0?pool_id=q").status, 204);
  EXPECT_EQ(call("GET", "/api/v1/allocations/s0?pool_id=q").status, 404);
  EXPECT_EQ(call("DELETE", "/api/v1/allocations/circuit-id:olt1%2F1%2F1").status, 204);
  EXPECT_EQ(call("DELETE", "/api/v1/allocations/circuit-id:olt1%2F1%2F1").status, 404);
  r = call("POST", "/api/v1/allocations", R"({"pool_id":"p","subscriber_id":"one-too-many"})");
  EXPECT_EQ(r.status, 201) << "a released address is free again";
}

TEST_F(ApiTest, NodesRegisterHeartbeatAndGoStale) {
  auto r = call(
      "POST", "/api/v1/nodes",
      R"({"id":"olt-east-01","address":"10.1.1.10","region":"east","metadata":{"rack":"r1"}})");
  ASSERT_EQ(r.status, 201) << r.raw;
  EXPECT_EQ(r.body.at("status"), "active");
  now_ += 5000;
  r = call("POST", "/api/v1/nodes", R"({"id":"olt-east-01"})");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body.at("region"), "east");
  EXPECT_EQ(str(r.body.at("last_seen")), rfc3339(now_));
  now_ += 3600 * 1000;
  r = call("GET", "/api/v1/nodes");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body.at("count"), 1);
  EXPECT_EQ(r.body.at("nodes").at(0).at("status"), "stale");
  EXPECT_EQ(call("GET", "/api/v1/nodes/olt-east-01").status, 200);
  EXPECT_EQ(call("GET", "/api/v1/nodes/nope").status, 404);
}

TEST_F(ApiTest, WritesNeedTheTokenWhenOneIsSet) {
  ApiOptions o;
  o.token = "s3cret-token";
  o.default_owners = {"n1", "n2"};
  make(o);
  auto r = call("POST", "/api/v1/pools", R"({"id":"p","cidr":"10.0.0.0/24"})");
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(r.error().find("Authorization: Bearer"), std::string::npos);
  ASSERT_FALSE(r.headers.empty());
  EXPECT_EQ(r.headers[0].first, "WWW-Authenticate");
  r = call("POST", "/api/v1/pools", R"({"id":"p","cidr":"10.0.0.0/24"})", "wrong");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.raw.find("s3cret"), std::string::npos) << "the token is never echoed";
  r = call("POST", "/api/v1/pools", R"({"id":"p","cidr":"10.0.0.0/24"})", "s3cret-token");
  ASSERT_EQ(r.status, 201);
  EXPECT_EQ(r.body.at("owners").as_array().size(), 2U) << "default owners apply";
  EXPECT_EQ(call("GET", "/api/v1/pools").status, 200) << "reads stay open";
  EXPECT_EQ(call("DELETE", "/api/v1/pools/p").status, 401);
  EXPECT_EQ(call("POST", "/admin/resync").status, 401);
  EXPECT_EQ(call("POST", "/admin/resync", "", "s3cret-token").status, 202);
  EXPECT_EQ(resyncs_, 1);
  // An update that does not mention owners keeps them.
  r = call("PUT", "/api/v1/pools/p", R"({"cidr":"10.0.0.0/24","lease_ttl":60})", "s3cret-token");
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body.at("owners").as_array().size(), 2U);
}

TEST_F(ApiTest, DigestRootsShowConvergence) {
  auto r = call("GET", "/admin/digest");
  ASSERT_EQ(r.status, 200);
  const std::string empty = json::serialize(r.body);
  ASSERT_EQ(call("POST", "/api/v1/pools", R"({"id":"p","cidr":"10.0.0.0/24"})").status, 201);
  r = call("GET", "/admin/digest");
  EXPECT_NE(json::serialize(r.body), empty);
  EXPECT_EQ(r.body.at("entries"), 1);
  EXPECT_EQ(str(r.body.at("allocations")).size(), 16U);
  char root[17];
  std::snprintf(root, sizeof root, "%016llx",
                static_cast<unsigned long long>(model_->digest().pools.root()));
  EXPECT_EQ(str(r.body.at("pools")), root);
}

TEST(ApiRestore, RestoresABackupOnlineAndTellsReplication) {
  std::string tmpl = (fs::temp_directory_path() / "nexus-api-XXXXXX").string();
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  const fs::path dir = tmpl;
  {
    auto store = Store::open(dir / "nexus.db");
    ASSERT_TRUE(store.ok());
    ModelOptions mo;
    mo.replica_id = "n1";
    auto model = std::move(Model::open(&*store, mo)).value();
    ops::Router router;
    int restored = 0;
    ApiOptions o;
    o.restored = [&] { ++restored; };
    add_api_routes(router, *model, o);
    ASSERT_TRUE(model->create_pool(Pool{.id = "p", .network = *Prefix::parse("10.0.0.0/24")}).ok());
    ASSERT_TRUE(model->backup(dir / "b.db").ok());
    ASSERT_TRUE(model->allocate("p", "after-backup").ok());
    auto post = [&](const std::string& body) {
      ops::Request req{.method = "POST", .path = "/admin/restore"};
      req.body = body;
      return router.dispatch(req);
    };
    auto r = post(R"({"path":"relative.db"})");
    EXPECT_EQ(r.status, 400);
    r = post(R"({"path":")" + (dir / "missing.db").string() + "\"}");
    EXPECT_EQ(r.status, 404) << r.body;
    r = post(R"({"path":")" + (dir / "b.db").string() + "\"}");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(restored, 1);
    EXPECT_FALSE(model->allocation("p", "after-backup").has_value());
    EXPECT_TRUE(model->pool("p").has_value());
  }
  fs::remove_all(dir);
}

TEST(Rfc3339, FormatsUtcWithMilliseconds) {
  EXPECT_EQ(rfc3339(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(rfc3339(1'700'000'000'123), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(rfc3339(-1), "1969-12-31T23:59:59.999Z");
}

}  // namespace
}  // namespace bngkit::nexus
