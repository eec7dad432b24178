// Peer channel: OpenSSL TLS 1.3 over blocking sockets. PSK mode uses the TLS 1.3 session
// callbacks (no certificate anywhere: the handshake succeeds only when both sides derived
// the same key); certificate mode verifies the peer's chain against the cluster CA both ways.
#include "peer_channel.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <utility>

namespace bngkit::nexus::detail {
namespace {

// TLS_AES_128_GCM_SHA256: the PSK is bound to this suite's hash (SHA-256).
constexpr unsigned char kPskCipher[2] = {0x13, 0x01};

Error tls_error(std::string what) {
  unsigned long e = ERR_get_error();
  std::string reason;
  while (e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!reason.empty()) reason += "; ";
    reason += buf;
    e = ERR_get_error();
  }
  if (!reason.empty()) what += ": " + reason;
  return make_error(std::errc::permission_denied, std::move(what));
}

// Index of the TlsContext pointer stored in each SSL_CTX (ex_data).
int context_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

const TlsContext* context_of(SSL* ssl) {
  return static_cast<const TlsContext*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), context_index()));
}

SSL_SESSION* psk_session(SSL* ssl, const std::string& key) {
  const SSL_CIPHER* cipher = SSL_CIPHER_find(ssl, kPskCipher);
  if (cipher == nullptr) return nullptr;
  SSL_SESSION* s = SSL_SESSION_new();
  if (s == nullptr) return nullptr;
  if (SSL_SESSION_set1_master_key(s, reinterpret_cast<const unsigned char*>(key.data()),
                                  key.size()) != 1 ||
      SSL_SESSION_set_cipher(s, cipher) != 1 ||
      SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION) != 1) {
    SSL_SESSION_free(s);
    return nullptr;
  }
  return s;
}

// Client: offer our PSK (called once per ClientHello; `md` is set after a HelloRetryRequest).
int use_session(SSL* ssl, const EVP_MD* md, const unsigned char** id, size_t* id_len,
                SSL_SESSION** session) {
  const TlsContext* ctx = context_of(ssl);
  *id = nullptr;
  *id_len = 0;
  *session = nullptr;
  if (ctx == nullptr) return 0;
  SSL_SESSION* s = psk_session(ssl, ctx->key());
  if (s == nullptr) return 0;
  if (md != nullptr && SSL_CIPHER_get_handshake_digest(SSL_SESSION_get0_cipher(s)) != md) {
    SSL_SESSION_free(s);
    return 1;  // the server chose a suite our PSK cannot be used with: offer none
  }
  *id = reinterpret_cast<const unsigned char*>(ctx->identity().data());
  *id_len = ctx->identity().size();
  *session = s;
  return 1;
}

// Server: accept only our identity; the binder check then proves the client has the key.
int find_session(SSL* ssl, const unsigned char* id, size_t id_len, SSL_SESSION** session) {
  const TlsContext* ctx = context_of(ssl);
  *session = nullptr;
  if (ctx == nullptr) return 0;
  if (id_len != ctx->identity().size() || std::memcmp(id, ctx->identity().data(), id_len) != 0)
    return 1;  // unknown identity: no PSK, and without a certificate the handshake fails
  *session = psk_session(ssl, ctx->key());
  return *session != nullptr ? 1 : 0;
}

void set_io_timeout(int fd, std::chrono::milliseconds t) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(t.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((t.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// What an SSL_* call's failure means, as an error.
Error io_error(SSL* ssl, int rc, const std::string& what) {
  const int err = SSL_get_error(ssl, rc);
  switch (err) {
    case SSL_ERROR_ZERO_RETURN:
      return make_error(std::errc::connection_reset, what + ": peer closed the connection");
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      ERR_clear_error();
      return make_error(std::errc::timed_out, what + ": timed out");
    case SSL_ERROR_SYSCALL: {
      const int e = errno;
      ERR_clear_error();
      if (e == EAGAIN || e == EWOULDBLOCK)
        return make_error(std::errc::timed_out, what + ": timed out");
      if (e == 0) return make_error(std::errc::connection_reset, what + ": connection closed");
      return errno_error(e, what);
    }
    default:
      if (ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        ERR_clear_error();
        return make_error(std::errc::connection_reset, what + ": connection closed");
      }
      return tls_error(what);
  }
}

// A signal this thread handles (SIGTERM, or a capability drop reaching every thread)
// interrupts a blocking call on a socket with a timeout even under SA_RESTART; OpenSSL
// then reports WANT_READ/WANT_WRITE (or SYSCALL) with errno EINTR. Not a failure: call again.
template <typename Call>
int retrying_interrupted(SSL* ssl, Call call) {
  for (;;) {
    errno = 0;
    const int rc = call();
    if (rc == 1) return rc;
    const int err = errno;
    const int kind = SSL_get_error(ssl, rc);
    if (err == EINTR && (kind == SSL_ERROR_WANT_READ || kind == SSL_ERROR_WANT_WRITE ||
                         kind == SSL_ERROR_SYSCALL)) {
      ERR_clear_error();
      continue;
    }
    errno = err;  // for io_error
    return rc;
  }
}

}  // namespace

std::string psk_identity(std::string_view topic) { return "bngkit-nexus/1/" + std::string(topic); }

std::string psk_key(std::string_view secret, std::string_view topic) {
  // HMAC-SHA256(secret, "bngkit-nexus-psk/1/" + topic): 32 bytes, bound to the topic.
  const std::string label = "bngkit-nexus-psk/1/" + std::string(topic);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(label.data()), label.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

// ---- FdRegistry

bool FdRegistry::add(int fd) {
  std::lock_guard lock(mu_);
  if (stopping_) return false;
  fds_.insert(fd);
  return true;
}

void FdRegistry::remove(int fd) {
  std::lock_guard lock(mu_);
  fds_.erase(fd);
}

void FdRegistry::shutdown_all() {
  std::lock_guard lock(mu_);
  stopping_ = true;
  for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
}

bool FdRegistry::stopping() const {
  std::lock_guard lock(mu_);
  return stopping_;
}

// ---- TlsContext

Result<std::shared_ptr<TlsContext>> TlsContext::create(const PeerAuth& auth, std::string topic) {
  std::shared_ptr<TlsContext> c(new TlsContext());
  ERR_clear_error();
  c->ctx_ = SSL_CTX_new(TLS_method());
  if (c->ctx_ == nullptr) return tls_error("create TLS context");
  SSL_CTX* ctx = c->ctx_;
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_num_tickets(ctx, 0);  // no resumption: every connection authenticates afresh
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_ex_data(ctx, context_index(), c.get());
  if (auth.uses_certificates()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, auth.cert_file.c_str()) != 1)
      return tls_error("load certificate " + auth.cert_file.string());
    if (SSL_CTX_use_PrivateKey_file(ctx, auth.key_file.c_str(), SSL_FILETYPE_PEM) != 1)
      return tls_error("load private key " + auth.key_file.string());
    if (SSL_CTX_check_private_key(ctx) != 1)
      return tls_error(auth.key_file.string() + " does not match " + auth.cert_file.string());
    if (SSL_CTX_load_verify_locations(ctx, auth.ca_file.c_str(), nullptr) != 1)
      return tls_error("load CA " + auth.ca_file.string());
    // Both directions: a replica accepts only peers whose certificate the cluster CA signed.
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  } else {
    if (auth.secret.empty())
      return make_error(std::errc::invalid_argument, "peer authentication needs a secret");
    c->identity_ = psk_identity(topic);
    c->key_ = psk_key(auth.secret, topic);
    SSL_CTX_set_psk_use_session_callback(ctx, use_session);
    SSL_CTX_set_psk_find_session_callback(ctx, find_session);
    if (SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256") != 1)
      return tls_error("select TLS_AES_128_GCM_SHA256");
  }
  return c;
}

TlsContext::~TlsContext() {
  if (ctx_ != nullptr) SSL_CTX_free(ctx_);
  OPENSSL_cleanse(key_.data(), key_.size());
}

// ---- Channel

Channel::Channel(Channel&& o) noexcept
    : tls_(std::move(o.tls_)),
      fds_(std::exchange(o.fds_, nullptr)),
      ssl_(std::exchange(o.ssl_, nullptr)),
      fd_(std::exchange(o.fd_, -1)),
      healthy_(std::exchange(o.healthy_, false)),
      peer_(std::move(o.peer_)) {}

Channel& Channel::operator=(Channel&& o) noexcept {
  if (this != &o) {
    close();
    tls_ = std::move(o.tls_);
    fds_ = std::exchange(o.fds_, nullptr);
    ssl_ = std::exchange(o.ssl_, nullptr);
    fd_ = std::exchange(o.fd_, -1);
    healthy_ = std::exchange(o.healthy_, false);
    peer_ = std::move(o.peer_);
  }
  return *this;
}

Channel::~Channel() { close(); }

void Channel::close() noexcept {
  if (ssl_ != nullptr) {
    // A clean end sends close_notify, so the peer can tell it from a crash.
    if (healthy_) {
      ERR_clear_error();
      (void)SSL_shutdown(ssl_);
      ERR_clear_error();
    }
    SSL_free(ssl_);
    ssl_ = nullptr;
  }
  if (fd_ >= 0) {
    if (fds_ != nullptr) fds_->remove(fd_);
    ::close(fd_);
    fd_ = -1;
  }
}

Result<Channel> Channel::connect(const std::shared_ptr<TlsContext>& tls, FdRegistry& fds,
                                 const sockaddr_storage& addr, socklen_t addr_len,
                                 std::chrono::milliseconds connect_timeout,
                                 std::chrono::milliseconds io_timeout) {
  const std::string where = address_text(addr);
  Channel ch;
  ch.tls_ = tls;
  ch.peer_ = where;
  ch.fd_ = ::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (ch.fd_ < 0) return errno_error(errno, "socket for " + where);
  if (!fds.add(ch.fd_)) return make_error(std::errc::operation_canceled, "stopping");
  ch.fds_ = &fds;
  if (::connect(ch.fd_, reinterpret_cast<const sockaddr*>(&addr), addr_len) != 0) {
    if (errno != EINPROGRESS) return errno_error(errno, "connect " + where);
    pollfd p{ch.fd_, POLLOUT, 0};
    const auto until = std::chrono::steady_clock::now() + connect_timeout;
    int n = 0;
    do {  // a signal interrupts poll() whatever SA_RESTART says: wait out the rest
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
      n = ::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(left.count(), 0)));
    } while (n < 0 && errno == EINTR);
    if (n == 0) return make_error(std::errc::timed_out, "connect " + where + ": timed out");
    if (n < 0) return errno_error(errno, "connect " + where);
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(ch.fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return errno_error(err, "connect " + where);
  }
  const int flags = ::fcntl(ch.fd_, F_GETFL);
  ::fcntl(ch.fd_, F_SETFL, flags & ~O_NONBLOCK);
  const int one = 1;
  ::setsockopt(ch.fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  set_io_timeout(ch.fd_, io_timeout);
  ERR_clear_error();
  ch.ssl_ = SSL_new(tls->get());
  if (ch.ssl_ == nullptr || SSL_set_fd(ch.ssl_, ch.fd_) != 1) return tls_error("TLS for " + where);
  const int rc = retrying_interrupted(ch.ssl_, [&] { return SSL_connect(ch.ssl_); });
  if (rc != 1) return io_error(ch.ssl_, rc, "TLS handshake with " + where);
  ch.healthy_ = true;
  return ch;
}

Result<Channel> Channel::accept(const std::shared_ptr<TlsContext>& tls, FdRegistry& fds, int fd,
                                std::chrono::milliseconds io_timeout) {
  Channel ch;
  ch.tls_ = tls;
  ch.fd_ = fd;
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  ::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ch.peer_ = address_text(addr);
  if (!fds.add(fd)) return make_error(std::errc::operation_canceled, "stopping");
  ch.fds_ = &fds;
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  set_io_timeout(fd, io_timeout);
  ERR_clear_error();
  ch.ssl_ = SSL_new(tls->get());
  if (ch.ssl_ == nullptr || SSL_set_fd(ch.ssl_, fd) != 1) return tls_error("TLS for " + ch.peer_);
  const int rc = retrying_interrupted(ch.ssl_, [&] { return SSL_accept(ch.ssl_); });
  if (rc != 1) return io_error(ch.ssl_, rc, "TLS handshake from " + ch.peer_);
  ch.healthy_ = true;
  return ch;
}

void Channel::set_timeout(std::chrono::milliseconds timeout) {
  if (fd_ >= 0) set_io_timeout(fd_, timeout);
}

Result<std::size_t> Channel::send(std::uint8_t type, std::string_view payload) {
  if (payload.size() + 1 > 0xffffffffULL)
    return make_error(std::errc::message_size, "frame too large");
  const auto len = static_cast<std::uint32_t>(payload.size() + 1);
  std::string buf;
  buf.reserve(payload.size() + 5);
  buf.push_back(static_cast<char>(len >> 24));
  buf.push_back(static_cast<char>(len >> 16));
  buf.push_back(static_cast<char>(len >> 8));
  buf.push_back(static_cast<char>(len));
  buf.push_back(static_cast<char>(type));
  buf.append(payload);
  ERR_clear_error();
  std::size_t written = 0;
  const int rc = retrying_interrupted(
      ssl_, [&] { return SSL_write_ex(ssl_, buf.data(), buf.size(), &written); });
  if (rc != 1 || written != buf.size()) {
    healthy_ = false;
    return io_error(ssl_, rc, "send to " + peer_);
  }
  return buf.size();
}

Result<void> Channel::read_exact(char* out, std::size_t n) {
  while (n > 0) {
    ERR_clear_error();
    std::size_t got = 0;
    const int rc = retrying_interrupted(ssl_, [&] { return SSL_read_ex(ssl_, out, n, &got); });
    if (rc != 1) {
      healthy_ = false;
      return io_error(ssl_, rc, "receive from " + peer_);
    }
    out += got;
    n -= got;
  }
  return ok();
}

Result<Frame> Channel::receive(std::size_t max_bytes, std::size_t* wire_bytes) {
  char head[5];
  if (auto r = read_exact(head, sizeof head); !r) return r.error();
  const std::uint32_t len =
      (static_cast<std::uint32_t>(static_cast<unsigned char>(head[0])) << 24) |
      (static_cast<std::uint32_t>(static_cast<unsigned char>(head[1])) << 16) |
      (static_cast<std::uint32_t>(static_cast<unsigned char>(head[2])) << 8) |
      static_cast<std::uint32_t>(static_cast<unsigned char>(head[3]));
  if (len == 0 || len - 1 > max_bytes) {
    healthy_ = false;
    return make_error(std::errc::message_size,
                      "frame of " + std::to_string(len) + " bytes from " + peer_ + " refused");
  }
  Frame f;
  f.type = static_cast<std::uint8_t>(head[4]);
  f.payload.resize(len - 1);
  if (auto r = read_exact(f.payload.data(), f.payload.size()); !r) return r.error();
  if (wire_bytes != nullptr) *wire_bytes = len + 4;
  return f;
}

// ---- addresses

Result<std::pair<std::string, std::uint16_t>> split_host_port(std::string_view text,
                                                              std::uint16_t default_port) {
  auto bad = [&] {
    return make_error(std::errc::invalid_argument,
                      "\"" + std::string(text) + "\" is not host, host:port or [v6]:port");
  };
  if (text.empty()) return bad();
  std::string host;
  std::string_view port;
  if (text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close == 1) return bad();
    host = std::string(text.substr(1, close - 1));
    auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return bad();
      port = rest.substr(1);
      if (port.empty()) return bad();
    }
  } else {
    const auto colon = text.rfind(':');
    if (colon != std::string_view::npos && text.find(':') != colon) {
      host = std::string(text);  // a bare IPv6 address
    } else if (colon != std::string_view::npos) {
      host = std::string(text.substr(0, colon));
      port = text.substr(colon + 1);
      if (host.empty() || port.empty()) return bad();
    } else {
      host = std::string(text);
    }
  }
  std::uint16_t p = default_port;
  if (!port.empty()) {
    unsigned v = 0;
    for (char c : port) {
      if (c < '0' || c > '9') return bad();
      v = v * 10 + static_cast<unsigned>(c - '0');
      if (v > 65535) return bad();
    }
    if (v == 0) return bad();
    p = static_cast<std::uint16_t>(v);
  }
  for (char c : host)
    if (static_cast<unsigned char>(c) <= 0x20 || c == '/' || c == '@') return bad();
  return std::pair(host, p);
}

std::string address_text(const sockaddr_storage& addr) {
  char buf[INET6_ADDRSTRLEN] = "?";
  if (addr.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&addr);
    ::inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
    return std::string(buf) + ":" + std::to_string(ntohs(a->sin_port));
  }
  if (addr.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&addr);
    ::inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
    return "[" + std::string(buf) + "]:" + std::to_string(ntohs(a->sin6_port));
  }
  return "?";
}

}  // namespace bngkit::nexus::detail
