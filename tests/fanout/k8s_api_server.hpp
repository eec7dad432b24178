// A local stand-in for the Kubernetes API server, enough for EndpointSlice discovery:
// HTTPS with a CA and server certificate made at start (SAN IP:127.0.0.1), bearer token
// check, LIST of EndpointSlices by service label with a resourceVersion, and WATCH as
// a chunked stream of newline-separated events from a given resourceVersion, with the
// test able to add/modify/delete slices, send bookmarks, break the stream, compact the
// history (so an old resourceVersion gets "410 Gone") and read the requests made.
#pragma once

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <poll.h>
#include <sys/socket.h>

#include <condition_variable>
#include <optional>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace fotest {

/// One endpoint of a slice, as Kubernetes writes it.
struct K8sEndpoint {
  std::string address;
  std::string pod;
  std::optional<bool> ready = true;  ///< nullopt: the field is absent
  bool terminating = false;
};

/// A real-shaped discovery.k8s.io/v1 EndpointSlice (as kube-controller-manager makes them).
inline boost::json::object endpoint_slice(const std::string& name, const std::string& ns,
                                          const std::string& service,
                                          const std::vector<K8sEndpoint>& endpoints,
                                          const std::string& port_name, int port,
                                          const std::string& address_type = "IPv4") {
  namespace json = boost::json;
  json::array eps;
  for (const auto& e : endpoints) {
    json::object conditions;
    if (e.ready) conditions["ready"] = *e.ready;
    conditions["serving"] = e.ready.value_or(true) || e.terminating;
    conditions["terminating"] = e.terminating;
    eps.push_back(json::object{
        {"addresses", json::array{json::value(e.address)}},
        {"conditions", conditions},
        {"nodeName", "node-a"},
        {"targetRef",
         json::object{
             {"kind", "Pod"}, {"name", e.pod}, {"namespace", ns}, {"uid", "6a1f-" + e.pod}}},
        {"zone", "zone-1"}});
  }
  return json::object{
      {"kind", "EndpointSlice"},
      {"apiVersion", "discovery.k8s.io/v1"},
      {"metadata",
       json::object{
           {"name", name},
           {"generateName", service + "-"},
           {"namespace", ns},
           {"uid", "a3e5c1d2-" + name},
           {"generation", 1},
           {"creationTimestamp", "2024-05-01T10:00:00Z"},
           {"labels", json::object{{"endpointslice.kubernetes.io/managed-by",
                                    "endpointslice-controller.k8s.io"},
                                   {"kubernetes.io/service-name", service}}},
           {"annotations", json::object{{"endpoints.kubernetes.io/last-change-trigger-time",
                                         "2024-05-01T10:00:00Z"}}},
           {"ownerReferences", json::array{json::object{{"apiVersion", "v1"},
                                                        {"kind", "Service"},
                                                        {"name", service},
                                                        {"uid", "svc-uid"},
                                                        {"controller", true},
                                                        {"blockOwnerDeletion", true}}}}}},
      {"addressType", address_type},
      {"endpoints", eps},
      {"ports",
       json::array{json::object{{"name", port_name}, {"protocol", "UDP"}, {"port", port}}}}};
}

/// The fake API server. Runs one connection at a time on a thread of its own.
class K8sApiServer {
 public:
  K8sApiServer(std::string ns, std::string service, std::string token)
      : ns_(std::move(ns)), service_(std::move(service)), token_(std::move(token)) {
    make_certificates();
    ssl_.use_certificate_chain(boost::asio::buffer(server_cert_pem_));
    ssl_.use_private_key(boost::asio::buffer(server_key_pem_), boost::asio::ssl::context::pem);
    acceptor_.open(boost::asio::ip::tcp::v4());
    acceptor_.set_option(boost::asio::socket_base::reuse_address(true));
    acceptor_.bind({boost::asio::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    acceptor_.non_blocking(true);
    thread_ = std::thread([this] { serve(); });
  }
  ~K8sApiServer() {
    {
      std::lock_guard l(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  K8sApiServer(const K8sApiServer&) = delete;
  K8sApiServer& operator=(const K8sApiServer&) = delete;

  [[nodiscard]] std::string url() const {
    return "https://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
  }
  /// PEM of the CA that signed the server certificate (what ca.crt holds in a pod).
  [[nodiscard]] const std::string& ca_pem() const { return ca_cert_pem_; }

  /// Adds or replaces a slice (ADDED or MODIFIED event, new resourceVersion).
  void put(boost::json::object slice) {
    std::lock_guard l(mu_);
    const std::string name(slice["metadata"].as_object()["name"].as_string());
    const bool existed = slices_.count(name) != 0;
    slice["metadata"].as_object()["resourceVersion"] = std::to_string(++rv_);
    slices_[name] = slice;
    events_.push_back({rv_, existed ? "MODIFIED" : "ADDED", slice});
    cv_.notify_all();
  }
  /// Deletes a slice (DELETED event).
  void remove(const std::string& name) {
    std::lock_guard l(mu_);
    auto slice = slices_.at(name);
    slices_.erase(name);
    slice["metadata"].as_object()["resourceVersion"] = std::to_string(++rv_);
    events_.push_back({rv_, "DELETED", slice});
    cv_.notify_all();
  }
  /// A BOOKMARK event carrying only the current resourceVersion.
  void bookmark() {
    std::lock_guard l(mu_);
    boost::json::object o{
        {"kind", "EndpointSlice"},
        {"apiVersion", "discovery.k8s.io/v1"},
        {"metadata", boost::json::object{{"resourceVersion", std::to_string(++rv_)}}}};
    events_.push_back({rv_, "BOOKMARK", o});
    cv_.notify_all();
  }
  /// Cuts the watch stream in flight without ending it properly.
  void break_watch() {
    std::lock_guard l(mu_);
    ++breaks_;
    cv_.notify_all();
  }
  /// Forgets the event history: watches from older versions get "410 Gone" (as an ERROR
  /// event in a 200 stream, as the API server does) and must list again.
  void compact() {
    std::lock_guard l(mu_);
    compacted_ = rv_;
    events_.clear();
    ++breaks_;  // the watch in flight ends too
    cv_.notify_all();
  }
  void set_token(std::string t) {
    std::lock_guard l(mu_);
    token_ = std::move(t);
  }
  /// Request targets seen, in order.
  [[nodiscard]] std::vector<std::string> requests() const {
    std::lock_guard l(mu_);
    return requests_;
  }
  [[nodiscard]] std::string resource_version() const {
    std::lock_guard l(mu_);
    return std::to_string(rv_);
  }

 private:
  struct Event {
    std::uint64_t rv;
    std::string type;
    boost::json::object object;
  };
  using Stream = boost::beast::ssl_stream<boost::asio::ip::tcp::socket>;

  void serve() {
    namespace beast = boost::beast;
    while (true) {
      {
        std::lock_guard l(mu_);
        if (stopping_) return;
      }
      boost::system::error_code ec;
      boost::asio::ip::tcp::socket sock(io_);
      acceptor_.accept(sock, ec);
      if (ec == boost::asio::error::would_block) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        continue;
      }
      if (ec) continue;
      sock.non_blocking(false);
      timeval tv{5, 0};  // a client that stalls must not wedge the server
      ::setsockopt(sock.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      Stream stream(std::move(sock), ssl_);
      stream.handshake(boost::asio::ssl::stream_base::server, ec);
      if (ec) continue;  // e.g. the client refused our certificate
      beast::flat_buffer buf;
      beast::http::request<beast::http::empty_body> req;
      beast::http::read(stream, buf, req, ec);
      if (ec) continue;
      handle(stream, req);
      beast::get_lowest_layer(stream).close(ec);
    }
  }

  static std::map<std::string, std::string> query_of(const std::string& target) {
    std::map<std::string, std::string> q;
    const auto qm = target.find('?');
    if (qm == std::string::npos) return q;
    std::string rest = target.substr(qm + 1);
    std::size_t pos = 0;
    while (pos <= rest.size()) {
      auto amp = rest.find('&', pos);
      if (amp == std::string::npos) amp = rest.size();
      const auto kv = rest.substr(pos, amp - pos);
      const auto eq = kv.find('=');
      q[kv.substr(0, eq)] = eq == std::string::npos ? "" : kv.substr(eq + 1);
      pos = amp + 1;
    }
    return q;
  }

  template <typename Req>
  void handle(Stream& stream, const Req& req) {
    namespace http = boost::beast::http;
    const std::string target(req.target());
    std::unique_lock l(mu_);
    requests_.push_back(target);
    auto reply = [&](http::status st, const std::string& body) {
      http::response<http::string_body> res{st, 11};
      res.set(http::field::content_type, "application/json");
      res.body() = body;
      res.prepare_payload();
      l.unlock();
      boost::system::error_code ec;
      http::write(stream, res, ec);
    };
    if (std::string(req[http::field::authorization]) != "Bearer " + token_) {
      reply(
          http::status::unauthorized,
          R"({"kind":"Status","apiVersion":"v1","status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401})");
      return;
    }
    const std::string base = "/apis/discovery.k8s.io/v1/namespaces/" + ns_ + "/endpointslices";
    auto q = query_of(target);
    if (target.rfind(base + "?", 0) != 0 ||
        q["labelSelector"] != "kubernetes.io%2Fservice-name%3D" + service_) {
      reply(http::status::not_found, R"({"kind":"Status","code":404,"message":"not found"})");
      return;
    }
    if (q["watch"] != "1") {
      boost::json::array items;
      for (const auto& [name, s] : slices_) items.push_back(s);
      boost::json::object list{
          {"kind", "EndpointSliceList"},
          {"apiVersion", "discovery.k8s.io/v1"},
          {"metadata", boost::json::object{{"resourceVersion", std::to_string(rv_)}}},
          {"items", items}};
      reply(http::status::ok, boost::json::serialize(list));
      return;
    }
    watch(stream, std::stoull(q["resourceVersion"].empty() ? "0" : q["resourceVersion"]), l);
  }

  void watch(Stream& stream, std::uint64_t from, std::unique_lock<std::mutex>& l) {
    namespace http = boost::beast::http;
    boost::system::error_code ec;
    http::response<http::empty_body> res{http::status::ok, 11};
    res.set(http::field::content_type, "application/json");
    res.chunked(true);
    http::response_serializer<http::empty_body> sr{res};
    l.unlock();
    http::write_header(stream, sr, ec);
    l.lock();
    if (ec) return;
    auto send = [&](const std::string& type, const boost::json::object& o) {
      const std::string line =
          boost::json::serialize(boost::json::object{{"type", type}, {"object", o}}) + "\n";
      l.unlock();
      boost::asio::write(stream, http::make_chunk(boost::asio::buffer(line)), ec);
      l.lock();
      return !ec;
    };
    if (from < compacted_) {
      send("ERROR",
           boost::json::object{{"kind", "Status"},
                               {"apiVersion", "v1"},
                               {"status", "Failure"},
                               {"message", "too old resource version: " + std::to_string(from) +
                                               " (" + std::to_string(compacted_) + ")"},
                               {"reason", "Expired"},
                               {"code", 410}});
      l.unlock();
      boost::asio::write(stream, http::make_chunk_last(), ec);
      return;
    }
    const auto breaks = breaks_;
    std::uint64_t sent = from;
    while (!stopping_ && breaks_ == breaks) {
      for (const auto& e : events_) {
        if (e.rv <= sent) continue;
        if (!send(e.type, e.object)) return;
        sent = e.rv;
        if (breaks_ != breaks) break;
      }
      cv_.wait_for(l, std::chrono::milliseconds(50));
      // The client sends nothing during a watch: readable or hung up means it left.
      pollfd p{boost::beast::get_lowest_layer(stream).native_handle(), POLLIN | POLLRDHUP, 0};
      if (::poll(&p, 1, 0) > 0) return;
    }
    // Broken or stopping: drop the connection without the last chunk.
  }

  void make_certificates() {
    EVP_PKEY* ca_key = EVP_EC_gen("P-256");
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* ca = make_cert(ca_key, ca_key, nullptr, "fanout-test-ca", "critical,CA:TRUE", nullptr);
    X509* cert = make_cert(key, ca_key, ca, "127.0.0.1", "CA:FALSE", "IP:127.0.0.1");
    ca_cert_pem_ = pem([&](BIO* b) { PEM_write_bio_X509(b, ca); });
    server_cert_pem_ = pem([&](BIO* b) { PEM_write_bio_X509(b, cert); });
    server_key_pem_ = pem(
        [&](BIO* b) { PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr); });
    X509_free(cert);
    X509_free(ca);
    EVP_PKEY_free(key);
    EVP_PKEY_free(ca_key);
  }

  static X509* make_cert(EVP_PKEY* key, EVP_PKEY* signer, X509* issuer, const char* cn,
                         const char* basic, const char* san) {
    static long serial = 1;
    X509* x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600);
    X509_set_pubkey(x, key);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                               -1, -1, 0);
    X509_set_issuer_name(x, issuer != nullptr ? X509_get_subject_name(issuer) : name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer != nullptr ? issuer : x, x, nullptr, nullptr, 0);
    auto add = [&](int nid, const char* value) {
      X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
      X509_add_ext(x, ext, -1);
      X509_EXTENSION_free(ext);
    };
    add(NID_basic_constraints, basic);
    if (san != nullptr) add(NID_subject_alt_name, san);
    X509_sign(x, signer, EVP_sha256());
    return x;
  }

  template <typename Write>
  static std::string pem(Write&& write) {
    BIO* b = BIO_new(BIO_s_mem());
    write(b);
    char* data = nullptr;
    const long n = BIO_get_mem_data(b, &data);
    std::string out(data, static_cast<std::size_t>(n));
    BIO_free(b);
    return out;
  }

  std::string ns_, service_, token_;
  std::string ca_cert_pem_, server_cert_pem_, server_key_pem_;
  boost::asio::io_context io_;
  boost::asio::ssl::context ssl_{boost::asio::ssl::context::tls_server};
  boost::asio::ip::tcp::acceptor acceptor_{io_};
  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::uint64_t rv_ = 1000;
  std::uint64_t compacted_ = 0;
  std::uint64_t breaks_ = 0;
  std::map<std::string, boost::json::object> slices_;
  std::deque<Event> events_;
  std::vector<std::string> requests_;
};

}  // namespace fotest
