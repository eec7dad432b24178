// RADIUS cryptography: User-Password hiding (RFC 2865 5.2), Tunnel-Password (RFC 2868 3.5),
// CHAP (RFC 2865 5.3), Message-Authenticator (HMAC-MD5, RFC 3579 3.2 / RFC 2869 5.14),
// Request and Response Authenticators (RFC 2865 3, RFC 2866 3, RFC 5176 2.3), signing a
// packet for sending and checking a received one. Checks work on the octets as received.
#pragma once

#include <array>
#include <bngkit/bng/radius/packet.hpp>
#include <bngkit/bng/radius/protocol.hpp>
#include <bngkit/bng_codec/export.hpp>
#include <bngkit/common/result.hpp>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace bngkit::bng::radius {

using Md5Digest = std::array<std::uint8_t, 16>;

/// MD5 over the concatenation of `parts`. Fails only when OpenSSL offers no MD5 (a
/// FIPS-only configuration); so do all functions below that hash.
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT Result<Md5Digest> md5(
    std::initializer_list<std::span<const std::uint8_t>> parts);
/// HMAC-MD5 (RFC 2104) of the concatenation of `parts` under `key`.
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT Result<Md5Digest> hmac_md5(
    std::span<const std::uint8_t> key, std::initializer_list<std::span<const std::uint8_t>> parts);

/// 16 octets from the system's cryptographic random generator, for a Request Authenticator.
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT Result<Authenticator> random_authenticator();

/// Hides a User-Password (RFC 2865 5.2): zero-padded to a multiple of 16 (16 at least), then
/// XORed block by block with MD5(secret + previous block), starting from the Request
/// Authenticator. Fails when the password is longer than 128 octets or the secret is empty.
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT Result<std::vector<std::uint8_t>> hide_password(
    std::string_view password, std::string_view secret, const Authenticator& request_auth);
/// Recovers a hidden User-Password; trailing NUL padding is removed. Fails when the hidden
/// value is not 16-128 octets in whole blocks or the secret is empty.
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT Result<std::string> unhide_password(
    std::span<const std::uint8_t> hidden, std::string_view secret,
    const Authenticator& request_auth);

/// Hides a Tunnel-Password (RFC 2868 3.5) with a 2-octet salt (its high bit is forced on):
/// salt, then the hidden length-prefixed password. The tag octet is not included.
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT Result<std::vector<std::uint8_t>> hide_tunnel_password(
    std::string_view password, std::string_view secret, const Authenticator& request_auth,
    std::array<std::uint8_t, 2> salt);
/// Recovers a Tunnel-Password from salt + hidden octets (no tag octet).
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT Result<std::string> unhide_tunnel_password(
    std::span<const std::uint8_t> salted, std::string_view secret,
    const Authenticator& request_auth);

/// CHAP-Password value (RFC 2865 5.3): the CHAP identifier, then MD5(id + password +
/// challenge).
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT Result<std::array<std::uint8_t, 17>> chap_password(
    std::uint8_t chap_id, std::string_view password, std::span<const std::uint8_t> challenge);
/// Checks an Access-Request's CHAP-Password against a cleartext password, with CHAP-Challenge
/// as the challenge, or the Request Authenticator when there is none. Fails with a reason when
/// CHAP-Password is missing, malformed (not 17 octets), or does not match.
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT Result<void> verify_chap_password(const Packet& request,
                                                                        std::string_view password);

/// Sets User-Password to `password` hidden under the packet's current authenticator
/// (replacing any User-Password already there, at the same position).
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT Result<void> set_user_password(Packet& request,
                                                                     std::string_view password,
                                                                     std::string_view secret);
/// The cleartext of the packet's User-Password. Fails when there is none or it is malformed.
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT Result<std::string> get_user_password(
    const Packet& request, std::string_view secret);

/// MD5(code + identifier + length + `auth_field` + attributes + secret) over serialized
/// `wire` (its own authenticator octets are replaced by `auth_field`). With the Request
/// Authenticator this is a Response Authenticator; with zeros, the authenticator of an
/// Accounting-, Disconnect- or CoA-Request. Fails when `wire` is shorter than the header.
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT Result<Authenticator> compute_authenticator(
    std::span<const std::uint8_t> wire, const Authenticator& auth_field, std::string_view secret);

/// HMAC-MD5 Message-Authenticator of serialized `wire` (RFC 3579 3.2, RFC 5176 3.1): computed
/// with the Message-Authenticator value zeroed and the authenticator field as RFC 3579 says
/// for the code: the packet's own for Access-Request and Status-Server, zeros for
/// Accounting/Disconnect/CoA-Request, `request_auth` for replies. Fails when there is no
/// Message-Authenticator (or more than one, or one not 16 octets), when the attributes are
/// malformed, or when a reply is given no `request_auth`.
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT Result<Authenticator> compute_message_authenticator(
    std::span<const std::uint8_t> wire, std::string_view secret,
    const std::optional<Authenticator>& request_auth = std::nullopt);

/// Signs a serialized packet in place: first the Message-Authenticator (if the packet has
/// one), then the authenticator field for Accounting/Disconnect/CoA-Request and replies.
/// Access-Request and Status-Server keep the random authenticator they carry. Replies need
/// `request_auth`.
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT Result<void> sign(
    std::span<std::uint8_t> wire, std::string_view secret,
    const std::optional<Authenticator>& request_auth = std::nullopt);

/// Options for encode().
struct EncodeOptions {
  /// Adds a Message-Authenticator, as the first attribute, if the packet has none. RFC 3579
  /// demands one with EAP-Message and RFC 5997 with Status-Server (encode adds it then anyway);
  /// the Blast-RADIUS (CVE-2024-3596) mitigations ask for one, first, in every Access-Request
  /// and every reply to one.
  bool add_message_authenticator = false;
  /// For replies: the Request Authenticator of the request being answered.
  std::optional<Authenticator> request_auth;
};

/// Serializes and signs `packet`, and updates it to what is sent (authenticator and the
/// Message-Authenticator value). For Access-Request and Status-Server the authenticator must
/// already be set (random_authenticator()) before User-Password is hidden with it.
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT Result<std::vector<std::uint8_t>> encode(
    Packet& packet, std::string_view secret, const EncodeOptions& options = {});

/// Options for the verify functions.
struct VerifyOptions {
  /// Fail when there is no Message-Authenticator (always required with EAP-Message and for
  /// Status-Server). Set it for Access-Request and its replies once the peer sends one: that
  /// is the Blast-RADIUS (CVE-2024-3596) defence.
  bool require_message_authenticator = false;
};

/// Checks a received request: the Request Authenticator of Accounting/Disconnect/CoA-Request,
/// and the Message-Authenticator when present or required. Access-Request and Status-Server
/// carry a random authenticator, so only the Message-Authenticator can be checked for them.
/// Fails, saying which check failed, on any mismatch or malformed packet.
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT Result<void> verify_request(
    std::span<const std::uint8_t> wire, std::string_view secret, const VerifyOptions& options = {});

/// Checks a received reply against the request it answers: identifier is the caller's to
/// match; this checks the Response Authenticator and the Message-Authenticator when present
/// or required.
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT Result<void> verify_response(
    std::span<const std::uint8_t> wire, const Authenticator& request_auth, std::string_view secret,
    const VerifyOptions& options = {});

}  // namespace bngkit::bng::radius
