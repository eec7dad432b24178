// RADIUS cryptography over OpenSSL's MD5: password hiding, CHAP, HMAC-MD5
// Message-Authenticator, Request/Response Authenticators, signing and verification.
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <bngkit/bng/radius/auth.hpp>
#include <cstring>
#include <memory>

#include "wire.hpp"

namespace bngkit::bng::radius {

namespace {

/// MD5 is fetched once. RADIUS needs MD5 even where FIPS forbids it for other uses, so prefer
/// a non-FIPS implementation (as FreeRADIUS does) and fall back to whatever is there.
const EVP_MD* md5_algorithm() {
  static const EVP_MD* const md = [] {
    const EVP_MD* fetched = EVP_MD_fetch(nullptr, "MD5", "-fips");
    if (fetched == nullptr) fetched = EVP_MD_fetch(nullptr, "MD5", nullptr);
    return fetched != nullptr ? fetched : EVP_md5();
  }();
  return md;
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const noexcept { EVP_MD_CTX_free(ctx); }
};

/// One reusable context per thread: no allocation per digest.
EVP_MD_CTX* thread_md_ctx() {
  thread_local const std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  return ctx.get();
}

Error crypto_error(std::string_view what) {
  return make_error(std::errc::not_supported,
                    std::string(what) + ": OpenSSL MD5 is unavailable (FIPS-only provider?)");
}

Result<Md5Digest> digest(std::initializer_list<std::span<const std::uint8_t>> parts) {
  EVP_MD_CTX* ctx = thread_md_ctx();
  if (ctx == nullptr || EVP_DigestInit_ex(ctx, md5_algorithm(), nullptr) != 1) {
    return crypto_error("MD5");
  }
  for (const auto& part : parts) {
    if (!part.empty() && EVP_DigestUpdate(ctx, part.data(), part.size()) != 1) {
      return crypto_error("MD5");
    }
  }
  Md5Digest out{};
  unsigned int size = 0;
  if (EVP_DigestFinal_ex(ctx, out.data(), &size) != 1 || size != out.size()) {
    return crypto_error("MD5");
  }
  return out;
}

Result<Md5Digest> hmac(std::span<const std::uint8_t> key,
                       std::initializer_list<std::span<const std::uint8_t>> parts) {
  // RFC 2104 over MD5 (64-octet blocks); cheaper than EVP_MAC's fetch per call.
  std::array<std::uint8_t, 64> block{};
  if (key.size() > block.size()) {
    auto hashed = digest({key});
    if (!hashed) return hashed;
    std::memcpy(block.data(), hashed->data(), hashed->size());
  } else if (!key.empty()) {
    std::memcpy(block.data(), key.data(), key.size());
  }
  std::array<std::uint8_t, 64> ipad{};
  std::array<std::uint8_t, 64> opad{};
  for (std::size_t i = 0; i < block.size(); ++i) {
    ipad[i] = block[i] ^ 0x36;
    opad[i] = block[i] ^ 0x5c;
  }
  EVP_MD_CTX* ctx = thread_md_ctx();
  if (ctx == nullptr || EVP_DigestInit_ex(ctx, md5_algorithm(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx, ipad.data(), ipad.size()) != 1) {
    return crypto_error("HMAC-MD5");
  }
  for (const auto& part : parts) {
    if (!part.empty() && EVP_DigestUpdate(ctx, part.data(), part.size()) != 1) {
      return crypto_error("HMAC-MD5");
    }
  }
  Md5Digest inner{};
  unsigned int size = 0;
  if (EVP_DigestFinal_ex(ctx, inner.data(), &size) != 1) return crypto_error("HMAC-MD5");
  OPENSSL_cleanse(block.data(), block.size());
  OPENSSL_cleanse(ipad.data(), ipad.size());
  auto outer = digest({opad, inner});
  OPENSSL_cleanse(opad.data(), opad.size());
  return outer;
}

bool equal_ct(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) noexcept {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Result<void> check_secret(std::string_view secret) {
  if (secret.empty()) {
    return make_error(std::errc::invalid_argument, "the RADIUS shared secret is empty");
  }
  return ok();
}

Error mismatch(std::string what) {
  return make_error(std::errc::permission_denied, std::move(what));
}

constexpr Authenticator kZeroAuthenticator{};

/// XORs 16-octet blocks of `data` in place with MD5(secret + chain), where chain starts as
/// `first` and continues with the previous hidden block (RFC 2865 5.2, RFC 2868 3.5).
/// `hiding` picks whether the chain uses the output (hide) or the input (unhide) blocks.
Result<void> md5_stream(std::span<std::uint8_t> data, std::string_view secret,
                        std::span<const std::uint8_t> first, bool hiding) {
  std::array<std::uint8_t, 16> chain_block{};
  std::span<const std::uint8_t> chain = first;
  for (std::size_t offset = 0; offset < data.size(); offset += 16) {
    auto pad = digest({as_bytes(secret), chain});
    if (!pad) return std::move(pad).error();
    std::uint8_t* block = data.data() + offset;
    if (!hiding) std::memcpy(chain_block.data(), block, 16);
    for (std::size_t i = 0; i < 16; ++i) block[i] ^= (*pad)[i];
    if (hiding) std::memcpy(chain_block.data(), block, 16);
    chain = chain_block;
  }
  return ok();
}

/// The authenticator field to use for the Message-Authenticator HMAC (RFC 3579 3.2, RFC 5176
/// 3.1): the packet's own for Access-Request/Status-Server, zeros for other requests, the
/// Request Authenticator for replies.
Result<Authenticator> hmac_auth_field(std::span<const std::uint8_t> wire,
                                      const std::optional<Authenticator>& request_auth) {
  const auto code = static_cast<Code>(wire[0]);
  Authenticator field{};
  switch (authenticator_kind(code)) {
    case AuthenticatorKind::kRandom:
      std::memcpy(field.data(), &wire[4], kAuthenticatorSize);
      return field;
    case AuthenticatorKind::kRequest:
      return field;
    case AuthenticatorKind::kResponse:
      if (!request_auth) {
        return make_error(
            std::errc::invalid_argument,
            std::string(code_name(code)) + " is a reply: the Request Authenticator is needed");
      }
      return *request_auth;
    case AuthenticatorKind::kUnknown:
      break;
  }
  return make_error(std::errc::not_supported,
                    "RADIUS code " + std::to_string(wire[0]) + " has no known authenticator rule");
}

Result<Authenticator> message_authenticator_of(std::span<const std::uint8_t> wire,
                                               const detail::Framing& framing,
                                               std::string_view secret,
                                               const std::optional<Authenticator>& request_auth) {
  if (framing.message_authenticator_count == 0) {
    return make_error(std::errc::bad_message, "RADIUS packet has no Message-Authenticator");
  }
  if (framing.message_authenticator_count > 1) {
    return make_error(std::errc::bad_message,
                      "RADIUS packet has " + std::to_string(framing.message_authenticator_count) +
                          " Message-Authenticator attributes");
  }
  if (framing.message_authenticator_malformed || !framing.message_authenticator) {
    return make_error(std::errc::bad_message,
                      "Message-Authenticator value is not 16 octets (RFC 3579 3.2)");
  }
  auto field = hmac_auth_field(wire, request_auth);
  if (!field) return field;
  const std::size_t ma = *framing.message_authenticator;
  const auto packet = wire.first(framing.length);
  return hmac(as_bytes(secret), {packet.first(4), *field, packet.subspan(20, ma - 20),
                                 kZeroAuthenticator, packet.subspan(ma + 16)});
}

}  // namespace

Result<Md5Digest> md5(std::initializer_list<std::span<const std::uint8_t>> parts) {
  return digest(parts);
}

Result<Md5Digest> hmac_md5(std::span<const std::uint8_t> key,
                           std::initializer_list<std::span<const std::uint8_t>> parts) {
  return hmac(key, parts);
}

Result<Authenticator> random_authenticator() {
  Authenticator out{};
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
    return make_error(std::errc::resource_unavailable_try_again,
                      "no random octets for a Request Authenticator (RAND_bytes failed)");
  }
  return out;
}

Result<std::vector<std::uint8_t>> hide_password(std::string_view password, std::string_view secret,
                                                const Authenticator& request_auth) {
  if (auto checked = check_secret(secret); !checked) return checked.error();
  if (password.size() > kMaxPasswordLength) {
    return make_error(std::errc::value_too_large, "User-Password of " +
                                                      std::to_string(password.size()) +
                                                      " octets exceeds 128 (RFC 2865 5.2)");
  }
  const std::size_t size = std::max<std::size_t>(16, (password.size() + 15) / 16 * 16);
  std::vector<std::uint8_t> out(size, 0);
  std::memcpy(out.data(), password.data(), password.size());
  if (auto streamed = md5_stream(out, secret, request_auth, true); !streamed) {
    return streamed.error();
  }
  return out;
}

Result<std::string> unhide_password(std::span<const std::uint8_t> hidden, std::string_view secret,
                                    const Authenticator& request_auth) {
  if (auto checked = check_secret(secret); !checked) return checked.error();
  if (hidden.size() < 16 || hidden.size() > kMaxPasswordLength || hidden.size() % 16 != 0) {
    return make_error(std::errc::bad_message,
                      "hidden User-Password of " + std::to_string(hidden.size()) +
                          " octets is not 16-128 in blocks of 16 (RFC 2865 5.2)");
  }
  std::vector<std::uint8_t> clear(hidden.begin(), hidden.end());
  if (auto streamed = md5_stream(clear, secret, request_auth, false); !streamed) {
    return streamed.error();
  }
  std::size_t size = clear.size();
  while (size > 0 && clear[size - 1] == 0) --size;
  std::string out(reinterpret_cast<const char*>(clear.data()), size);
  OPENSSL_cleanse(clear.data(), clear.size());
  return out;
}

Result<std::vector<std::uint8_t>> hide_tunnel_password(std::string_view password,
                                                       std::string_view secret,
                                                       const Authenticator& request_auth,
                                                       std::array<std::uint8_t, 2> salt) {
  if (auto checked = check_secret(secret); !checked) return checked.error();
  // tag (1) + salt (2) + whole blocks must fit 253: 15 blocks, so 239 password octets.
  if (password.size() > 239) {
    return make_error(std::errc::value_too_large, "Tunnel-Password of " +
                                                      std::to_string(password.size()) +
                                                      " octets exceeds 239 (RFC 2868 3.5)");
  }
  salt[0] |= 0x80;  // RFC 2868: the most significant bit of the salt must be set
  const std::size_t size = (password.size() + 1 + 15) / 16 * 16;
  std::vector<std::uint8_t> out(2 + size, 0);
  out[0] = salt[0];
  out[1] = salt[1];
  out[2] = static_cast<std::uint8_t>(password.size());
  std::memcpy(out.data() + 3, password.data(), password.size());
  std::array<std::uint8_t, 18> first{};
  std::memcpy(first.data(), request_auth.data(), 16);
  first[16] = salt[0];
  first[17] = salt[1];
  if (auto streamed = md5_stream(std::span(out).subspan(2), secret, first, true); !streamed) {
    return streamed.error();
  }
  return out;
}

Result<std::string> unhide_tunnel_password(std::span<const std::uint8_t> salted,
                                           std::string_view secret,
                                           const Authenticator& request_auth) {
  if (auto checked = check_secret(secret); !checked) return checked.error();
  if (salted.size() < 18 || (salted.size() - 2) % 16 != 0) {
    return make_error(std::errc::bad_message,
                      "Tunnel-Password of " + std::to_string(salted.size()) +
                          " octets is not a salt and whole 16-octet blocks (RFC 2868 3.5)");
  }
  std::array<std::uint8_t, 18> first{};
  std::memcpy(first.data(), request_auth.data(), 16);
  first[16] = salted[0];
  first[17] = salted[1];
  std::vector<std::uint8_t> clear(salted.begin() + 2, salted.end());
  if (auto streamed = md5_stream(clear, secret, first, false); !streamed) {
    return streamed.error();
  }
  const std::size_t length = clear[0];
  if (length > clear.size() - 1) {
    OPENSSL_cleanse(clear.data(), clear.size());
    return make_error(std::errc::bad_message, "Tunnel-Password length octet " +
                                                  std::to_string(length) +
                                                  " exceeds the data (wrong shared secret?)");
  }
  std::string out(reinterpret_cast<const char*>(clear.data() + 1), length);
  OPENSSL_cleanse(clear.data(), clear.size());
  return out;
}

Result<std::array<std::uint8_t, 17>> chap_password(std::uint8_t chap_id, std::string_view password,
                                                   std::span<const std::uint8_t> challenge) {
  const std::uint8_t id[1] = {chap_id};
  auto hash = digest({id, as_bytes(password), challenge});
  if (!hash) return std::move(hash).error();
  std::array<std::uint8_t, 17> out{};
  out[0] = chap_id;
  std::memcpy(out.data() + 1, hash->data(), hash->size());
  return out;
}

Result<void> verify_chap_password(const Packet& request, std::string_view password) {
  const Attribute* chap = request.find(attr::kChapPassword);
  if (chap == nullptr) {
    return make_error(std::errc::invalid_argument, "Access-Request has no CHAP-Password");
  }
  if (chap->value().size() != 17) {
    return make_error(std::errc::bad_message, "CHAP-Password of " +
                                                  std::to_string(chap->value().size()) +
                                                  " octets is not 17 (RFC 2865 5.3)");
  }
  const Attribute* challenge_attr = request.find(attr::kChapChallenge);
  const std::span<const std::uint8_t> challenge =
      challenge_attr != nullptr ? challenge_attr->value()
                                : std::span<const std::uint8_t>(request.authenticator);
  auto expected = chap_password(chap->value()[0], password, challenge);
  if (!expected) return std::move(expected).error();
  if (!equal_ct(*expected, chap->value())) return mismatch("CHAP-Password does not match");
  return ok();
}

Result<void> set_user_password(Packet& request, std::string_view password,
                               std::string_view secret) {
  auto hidden = hide_password(password, secret, request.authenticator);
  if (!hidden) return std::move(hidden).error();
  auto attribute = Attribute::make(attr::kUserPassword, *hidden);
  if (!attribute) return std::move(attribute).error();
  auto it = std::find_if(request.attributes.begin(), request.attributes.end(),
                         [](const Attribute& a) { return a.type() == attr::kUserPassword; });
  if (it != request.attributes.end()) {
    *it = *attribute;
    // Only one User-Password may remain.
    request.attributes.erase(
        std::remove_if(it + 1, request.attributes.end(),
                       [](const Attribute& a) { return a.type() == attr::kUserPassword; }),
        request.attributes.end());
  } else {
    request.attributes.push_back(*attribute);
  }
  return ok();
}

Result<std::string> get_user_password(const Packet& request, std::string_view secret) {
  if (request.count(attr::kUserPassword) != 1) {
    return make_error(std::errc::bad_message,
                      "Access-Request has " + std::to_string(request.count(attr::kUserPassword)) +
                          " User-Password attributes, expected 1");
  }
  return unhide_password(request.find(attr::kUserPassword)->value(), secret, request.authenticator);
}

Result<Authenticator> compute_authenticator(std::span<const std::uint8_t> wire,
                                            const Authenticator& auth_field,
                                            std::string_view secret) {
  auto length = detail::check_header(wire);
  if (!length) return std::move(length).error();
  const auto packet = wire.first(*length);
  return digest({packet.first(4), auth_field, packet.subspan(kHeaderSize), as_bytes(secret)});
}

Result<Authenticator> compute_message_authenticator(
    std::span<const std::uint8_t> wire, std::string_view secret,
    const std::optional<Authenticator>& request_auth) {
  auto framing = detail::scan(wire);
  if (!framing) return std::move(framing).error();
  return message_authenticator_of(wire, *framing, secret, request_auth);
}

Result<void> sign(std::span<std::uint8_t> wire, std::string_view secret,
                  const std::optional<Authenticator>& request_auth) {
  if (auto checked = check_secret(secret); !checked) return checked;
  auto framing = detail::scan(wire);
  if (!framing) return std::move(framing).error();
  const auto code = static_cast<Code>(wire[0]);
  const auto kind = authenticator_kind(code);
  if (kind == AuthenticatorKind::kUnknown) {
    return make_error(std::errc::not_supported, "RADIUS code " + std::to_string(wire[0]) +
                                                    " has no known authenticator rule");
  }
  if (kind == AuthenticatorKind::kResponse && !request_auth) {
    return make_error(std::errc::invalid_argument,
                      std::string(code_name(code)) +
                          " is a reply: the Request Authenticator is needed to sign it");
  }
  if (framing->message_authenticator_count > 0) {
    auto ma = message_authenticator_of(wire, *framing, secret, request_auth);
    if (!ma) return std::move(ma).error();
    std::memcpy(&wire[*framing->message_authenticator], ma->data(), ma->size());
  }
  if (kind == AuthenticatorKind::kRandom) return ok();
  const Authenticator& field =
      kind == AuthenticatorKind::kRequest ? kZeroAuthenticator : *request_auth;
  auto auth = compute_authenticator(wire, field, secret);
  if (!auth) return std::move(auth).error();
  std::memcpy(&wire[4], auth->data(), auth->size());
  return ok();
}

Result<std::vector<std::uint8_t>> encode(Packet& packet, std::string_view secret,
                                         const EncodeOptions& options) {
  if (auto checked = check_secret(secret); !checked) return checked.error();
  const auto kind = authenticator_kind(packet.code);
  if (kind == AuthenticatorKind::kRandom && packet.authenticator == kZeroAuthenticator) {
    return make_error(std::errc::invalid_argument,
                      std::string(code_name(packet.code)) +
                          " has an all-zero authenticator: set one from random_authenticator()");
  }
  const bool wants_ma = options.add_message_authenticator || packet.code == Code::kStatusServer ||
                        packet.find(attr::kEapMessage) != nullptr;
  const bool adding = wants_ma && packet.find(attr::kMessageAuthenticator) == nullptr;
  if (adding) {
    // First, as the Blast-RADIUS (CVE-2024-3596) mitigations ask: a forger cannot then
    // prefix chosen attributes ahead of it.
    packet.attributes.insert(
        packet.attributes.begin(),
        Attribute::make(attr::kMessageAuthenticator, kZeroAuthenticator).value());
  }
  auto wire = packet.serialize();
  if (!wire) {
    if (adding) packet.attributes.erase(packet.attributes.begin());
    return wire;
  }
  if (auto signed_ok = sign(*wire, secret, options.request_auth); !signed_ok) {
    return signed_ok.error();
  }
  // Keep the packet equal to what goes out.
  std::memcpy(packet.authenticator.data(), wire->data() + 4, kAuthenticatorSize);
  std::size_t offset = kHeaderSize;
  for (auto& attribute : packet.attributes) {
    if (attribute.type() == attr::kMessageAuthenticator &&
        attribute.value().size() == kAuthenticatorSize) {
      attribute = Attribute::make(attr::kMessageAuthenticator,
                                  std::span(wire->data() + offset + 2, kAuthenticatorSize))
                      .value();
    }
    offset += attribute.wire_size();
  }
  return wire;
}

Result<void> verify_request(std::span<const std::uint8_t> wire, std::string_view secret,
                            const VerifyOptions& options) {
  if (auto checked = check_secret(secret); !checked) return checked;
  auto framing = detail::scan(wire);
  if (!framing) return std::move(framing).error();
  const auto code = static_cast<Code>(wire[0]);
  const auto kind = authenticator_kind(code);
  if (kind != AuthenticatorKind::kRandom && kind != AuthenticatorKind::kRequest) {
    return make_error(std::errc::invalid_argument,
                      "RADIUS code " + std::to_string(wire[0]) + " is not a request");
  }
  if (kind == AuthenticatorKind::kRequest) {
    auto expected = compute_authenticator(wire, kZeroAuthenticator, secret);
    if (!expected) return std::move(expected).error();
    if (!equal_ct(*expected, wire.subspan(4, kAuthenticatorSize))) {
      return mismatch(std::string(code_name(code)) +
                      " Request Authenticator does not match (wrong shared secret?)");
    }
  }
  const bool required = options.require_message_authenticator || framing->has_eap_message ||
                        code == Code::kStatusServer;
  if (framing->message_authenticator_count == 0 && !required) return ok();
  auto expected = message_authenticator_of(wire, *framing, secret, std::nullopt);
  if (!expected) return std::move(expected).error();
  if (!equal_ct(*expected, wire.subspan(*framing->message_authenticator, kAuthenticatorSize))) {
    return mismatch(std::string(code_name(code)) +
                    " Message-Authenticator does not match (wrong shared secret?)");
  }
  return ok();
}

Result<void> verify_response(std::span<const std::uint8_t> wire, const Authenticator& request_auth,
                             std::string_view secret, const VerifyOptions& options) {
  if (auto checked = check_secret(secret); !checked) return checked;
  auto framing = detail::scan(wire);
  if (!framing) return std::move(framing).error();
  const auto code = static_cast<Code>(wire[0]);
  if (!is_response(code)) {
    return make_error(std::errc::invalid_argument,
                      "RADIUS code " + std::to_string(wire[0]) + " is not a reply");
  }
  auto expected = compute_authenticator(wire, request_auth, secret);
  if (!expected) return std::move(expected).error();
  if (!equal_ct(*expected, wire.subspan(4, kAuthenticatorSize))) {
    return mismatch(std::string(code_name(code)) +
                    " Response Authenticator does not match (wrong shared secret or request?)");
  }
  const bool required = options.require_message_authenticator || framing->has_eap_message;
  if (framing->message_authenticator_count == 0 && !required) return ok();
  auto ma = message_authenticator_of(wire, *framing, secret, request_auth);
  if (!ma) return std::move(ma).error();
  if (!equal_ct(*ma, wire.subspan(*framing->message_authenticator, kAuthenticatorSize))) {
    return mismatch(std::string(code_name(code)) + " Message-Authenticator does not match");
  }
  return ok();
}

}  // namespace bngkit::bng::radius
