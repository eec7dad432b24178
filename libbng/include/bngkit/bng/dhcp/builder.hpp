// Server replies (OFFER/ACK/NAK) built from a client request per RFC 2131 table 3: echoes
// relay agent information (RFC 3046) and the client identifier (RFC 6842), honours the
// parameter request list and the client's maximum message size, pads to the BOOTP minimum.
// Also the relay-side insertion of option 82.
#pragma once

#include <bngkit/bng/dhcp/ipv4.hpp>
#include <bngkit/bng/dhcp/message.hpp>
#include <bngkit/bng/dhcp/relay_agent_info.hpp>
#include <bngkit/bng_codec/export.hpp>
#include <bngkit/common/result.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bngkit::bng::dhcp {

/// One configured option value (any length; long values are split per RFC 3396).
struct OptionValue {
  std::uint8_t code = 0;
  std::vector<std::uint8_t> data;
  bool operator==(const OptionValue&) const = default;
};

/// What the server decided for this client.
struct ReplyParams {
  /// Option 54; must be set.
  Ipv4 server_id;
  /// yiaddr of an OFFER or of an ACK to a DHCPREQUEST (ignored for NAK and INFORM).
  Ipv4 your_ip;
  /// siaddr: the next server in bootstrap (0 when none).
  Ipv4 next_server;
  /// Option 51; required for OFFER and for ACK to DHCPREQUEST, never sent to INFORM.
  std::optional<std::uint32_t> lease_time;
  /// Options 58 and 59 (T1, T2); sent with the lease time when set.
  std::optional<std::uint32_t> renewal_time;
  std::optional<std::uint32_t> rebinding_time;
  /// Sent only when the client's parameter request list names them, in the client's order.
  std::vector<OptionValue> options;
  /// Sent whatever the client asked for (e.g. subnet mask and router for clients that send
  /// no parameter request list); placed in request-list order when also requested.
  std::vector<OptionValue> always_send;
  /// Option 56 text (typically the reason of a NAK); empty for none.
  std::string message;
  /// Zero-pad the reply to at least this many octets (RFC 1542 BOOTP minimum by default).
  std::size_t min_size = kBootpMinSize;
  /// When the reply exceeds the client's limit, move configured options into the unused
  /// file and sname fields with option 52 (RFC 2131 4.1, RFC 2132 9.3) before dropping any.
  bool allow_overload = true;
};

/// Largest DHCP message (UDP payload) the client accepts: option 57 minus IP and UDP headers
/// (RFC 2132 9.10 counts the whole datagram), at least 548; 548 when absent.
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT std::size_t reply_size_limit(const Message& request);

/// A reply of `type` (offer, ack or nak) to `request`. Option order: 53, 54, 51, 58, 59, then
/// requested options in parameter-request-list order, then the remaining always-send options,
/// 56, 61 (echoed, RFC 6842) and 82 last (echoed verbatim, RFC 3046). When the reply exceeds
/// reply_size_limit(), the last configured options move to the file, then the sname field
/// (option 52 right after 53; 53, 54, 51, 58, 59, 61 and 82 stay in the options field where
/// relays and simple clients look); if that is not enough, requested options are dropped from
/// the least preferred end instead. An error results when the mandatory part alone does not
/// fit. Fails when the request's type does not
/// fit the reply (OFFER answers DISCOVER; ACK answers REQUEST or INFORM; NAK answers REQUEST),
/// when mandatory parameters are missing, or when a configured option is one the builder owns
/// (0, 50, 51, 52, 53, 54, 55, 57, 58, 59, 61, 82, 255).
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT Result<Message> make_reply(const Message& request,
                                                                 MessageType type,
                                                                 const ReplyParams& params);
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT Result<Message> make_offer(const Message& discover,
                                                                 const ReplyParams& params);
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT Result<Message> make_ack(const Message& request,
                                                               const ReplyParams& params);
/// NAK: only 53, 54, 56 (when `message` is not empty), 61 and 82; broadcast bit set when the
/// request came through a relay (RFC 2131 4.3.2).
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT Result<Message> make_nak(const Message& request,
                                                               Ipv4 server_id,
                                                               std::string message = {});

/// Relay agent side (RFC 3046 2.1): appends option 82 as the last option, sets giaddr when it
/// is zero (to `giaddr`) and increments hops. Fails, leaving `request` unchanged, when it is
/// not a BOOTREQUEST, already carries option 82 (the caller decides to drop or forward it),
/// hops already reached `max_hops` (RFC 1542), giaddr would stay zero, or the message would
/// grow past `max_size` octets (the agent must not add the option then).
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT Result<void> insert_relay_agent_info(
    Message& request, const RelayAgentInfo& info, Ipv4 giaddr,
    std::size_t max_size = kDefaultMaxMessageSize, std::uint8_t max_hops = 16);

}  // namespace bngkit::bng::dhcp
