// RADIUS protocol constants: packet codes (RFC 2865/2866/5176/5997), sizes, ports, standard
// attribute numbers, the Broadband Forum vendor attributes, and enumerated values.
#pragma once

#include <array>
#include <bngkit/bng_codec/export.hpp>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace bngkit::bng::radius {

/// Octets of the fixed header: code, identifier, length, authenticator.
inline constexpr std::size_t kHeaderSize = 20;
/// Largest packet RFC 2865 section 3 allows.
inline constexpr std::size_t kMaxPacketSize = 4096;
/// Largest attribute value (the length octet counts type and length too).
inline constexpr std::size_t kMaxAttributeValue = 253;
/// Size of the authenticator field and of Message-Authenticator's value.
inline constexpr std::size_t kAuthenticatorSize = 16;
/// Longest User-Password RFC 2865 section 5.2 allows.
inline constexpr std::size_t kMaxPasswordLength = 128;

inline constexpr std::uint16_t kAuthPort = 1812;  ///< Access-Request
inline constexpr std::uint16_t kAcctPort = 1813;  ///< Accounting-Request
inline constexpr std::uint16_t kCoaPort = 3799;   ///< CoA and Disconnect (RFC 5176)

/// The 16-octet Request or Response Authenticator.
using Authenticator = std::array<std::uint8_t, kAuthenticatorSize>;

/// Packet type. Unknown codes parse too; compare against these.
enum class Code : std::uint8_t {
  kAccessRequest = 1,
  kAccessAccept = 2,
  kAccessReject = 3,
  kAccountingRequest = 4,
  kAccountingResponse = 5,
  kAccessChallenge = 11,
  kStatusServer = 12,  ///< RFC 5997
  kStatusClient = 13,
  kDisconnectRequest = 40,  ///< RFC 5176
  kDisconnectAck = 41,
  kDisconnectNak = 42,
  kCoaRequest = 43,
  kCoaAck = 44,
  kCoaNak = 45,
};

/// "Access-Request", "CoA-NAK", ...; empty for a code this library does not know.
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT std::string_view code_name(Code code) noexcept;

/// How a packet's authenticator field is made.
enum class AuthenticatorKind : std::uint8_t {
  kUnknown,   ///< a code this library does not know
  kRandom,    ///< Access-Request, Status-Server: 16 random octets from the client
  kRequest,   ///< Accounting/Disconnect/CoA-Request: MD5 over the packet with zeros there
  kResponse,  ///< every reply: MD5 over the packet with the request's authenticator there
};

/// Which authenticator a packet with this code carries (RFC 2865 3, RFC 2866 3, RFC 5176 2.3).
[[nodiscard]] constexpr AuthenticatorKind authenticator_kind(Code code) noexcept {
  switch (code) {
    case Code::kAccessRequest:
    case Code::kStatusServer:
      return AuthenticatorKind::kRandom;
    case Code::kAccountingRequest:
    case Code::kDisconnectRequest:
    case Code::kCoaRequest:
      return AuthenticatorKind::kRequest;
    case Code::kAccessAccept:
    case Code::kAccessReject:
    case Code::kAccessChallenge:
    case Code::kAccountingResponse:
    case Code::kDisconnectAck:
    case Code::kDisconnectNak:
    case Code::kCoaAck:
    case Code::kCoaNak:
      return AuthenticatorKind::kResponse;
    case Code::kStatusClient:
      break;
  }
  return AuthenticatorKind::kUnknown;
}

/// True for codes a client sends and a server answers.
[[nodiscard]] constexpr bool is_request(Code code) noexcept {
  const auto kind = authenticator_kind(code);
  return kind == AuthenticatorKind::kRandom || kind == AuthenticatorKind::kRequest;
}

/// True for reply codes.
[[nodiscard]] constexpr bool is_response(Code code) noexcept {
  return authenticator_kind(code) == AuthenticatorKind::kResponse;
}

/// Standard attribute types (RFC 2865, 2866, 2867, 2868, 2869, 3162, 4372, 4675, 4818, 5176,
/// 6911, 7155). The names are those of FreeRADIUS' dictionaries.
namespace attr {
inline constexpr std::uint8_t kUserName = 1;
inline constexpr std::uint8_t kUserPassword = 2;
inline constexpr std::uint8_t kChapPassword = 3;
inline constexpr std::uint8_t kNasIpAddress = 4;
inline constexpr std::uint8_t kNasPort = 5;
inline constexpr std::uint8_t kServiceType = 6;
inline constexpr std::uint8_t kFramedProtocol = 7;
inline constexpr std::uint8_t kFramedIpAddress = 8;
inline constexpr std::uint8_t kFramedIpNetmask = 9;
inline constexpr std::uint8_t kFramedRouting = 10;
inline constexpr std::uint8_t kFilterId = 11;
inline constexpr std::uint8_t kFramedMtu = 12;
inline constexpr std::uint8_t kFramedCompression = 13;
inline constexpr std::uint8_t kLoginIpHost = 14;
inline constexpr std::uint8_t kLoginService = 15;
inline constexpr std::uint8_t kLoginTcpPort = 16;
inline constexpr std::uint8_t kReplyMessage = 18;
inline constexpr std::uint8_t kCallbackNumber = 19;
inline constexpr std::uint8_t kCallbackId = 20;
inline constexpr std::uint8_t kFramedRoute = 22;
inline constexpr std::uint8_t kFramedIpxNetwork = 23;
inline constexpr std::uint8_t kState = 24;
inline constexpr std::uint8_t kClass = 25;
inline constexpr std::uint8_t kVendorSpecific = 26;
inline constexpr std::uint8_t kSessionTimeout = 27;
inline constexpr std::uint8_t kIdleTimeout = 28;
inline constexpr std::uint8_t kTerminationAction = 29;
inline constexpr std::uint8_t kCalledStationId = 30;
inline constexpr std::uint8_t kCallingStationId = 31;
inline constexpr std::uint8_t kNasIdentifier = 32;
inline constexpr std::uint8_t kProxyState = 33;
inline constexpr std::uint8_t kLoginLatService = 34;
inline constexpr std::uint8_t kLoginLatNode = 35;
inline constexpr std::uint8_t kLoginLatGroup = 36;
inline constexpr std::uint8_t kFramedAppleTalkLink = 37;
inline constexpr std::uint8_t kFramedAppleTalkNetwork = 38;
inline constexpr std::uint8_t kFramedAppleTalkZone = 39;
inline constexpr std::uint8_t kAcctStatusType = 40;
inline constexpr std::uint8_t kAcctDelayTime = 41;
inline constexpr std::uint8_t kAcctInputOctets = 42;
inline constexpr std::uint8_t kAcctOutputOctets = 43;
inline constexpr std::uint8_t kAcctSessionId = 44;
inline constexpr std::uint8_t kAcctAuthentic = 45;
inline constexpr std::uint8_t kAcctSessionTime = 46;
inline constexpr std::uint8_t kAcctInputPackets = 47;
inline constexpr std::uint8_t kAcctOutputPackets = 48;
inline constexpr std::uint8_t kAcctTerminateCause = 49;
inline constexpr std::uint8_t kAcctMultiSessionId = 50;
inline constexpr std::uint8_t kAcctLinkCount = 51;
inline constexpr std::uint8_t kAcctInputGigawords = 52;
inline constexpr std::uint8_t kAcctOutputGigawords = 53;
inline constexpr std::uint8_t kEventTimestamp = 55;
inline constexpr std::uint8_t kEgressVlanId = 56;
inline constexpr std::uint8_t kIngressFilters = 57;
inline constexpr std::uint8_t kEgressVlanName = 58;
inline constexpr std::uint8_t kUserPriorityTable = 59;
inline constexpr std::uint8_t kChapChallenge = 60;
inline constexpr std::uint8_t kNasPortType = 61;
inline constexpr std::uint8_t kPortLimit = 62;
inline constexpr std::uint8_t kLoginLatPort = 63;
inline constexpr std::uint8_t kTunnelType = 64;
inline constexpr std::uint8_t kTunnelMediumType = 65;
inline constexpr std::uint8_t kTunnelClientEndpoint = 66;
inline constexpr std::uint8_t kTunnelServerEndpoint = 67;
inline constexpr std::uint8_t kAcctTunnelConnection = 68;
inline constexpr std::uint8_t kTunnelPassword = 69;
inline constexpr std::uint8_t kArapPassword = 70;
inline constexpr std::uint8_t kArapFeatures = 71;
inline constexpr std::uint8_t kArapZoneAccess = 72;
inline constexpr std::uint8_t kArapSecurity = 73;
inline constexpr std::uint8_t kArapSecurityData = 74;
inline constexpr std::uint8_t kPasswordRetry = 75;
inline constexpr std::uint8_t kPrompt = 76;
inline constexpr std::uint8_t kConnectInfo = 77;
inline constexpr std::uint8_t kConfigurationToken = 78;
inline constexpr std::uint8_t kEapMessage = 79;
inline constexpr std::uint8_t kMessageAuthenticator = 80;
inline constexpr std::uint8_t kTunnelPrivateGroupId = 81;
inline constexpr std::uint8_t kTunnelAssignmentId = 82;
inline constexpr std::uint8_t kTunnelPreference = 83;
inline constexpr std::uint8_t kArapChallengeResponse = 84;
inline constexpr std::uint8_t kAcctInterimInterval = 85;
inline constexpr std::uint8_t kAcctTunnelPacketsLost = 86;
inline constexpr std::uint8_t kNasPortId = 87;
inline constexpr std::uint8_t kFramedPool = 88;
inline constexpr std::uint8_t kChargeableUserIdentity = 89;
inline constexpr std::uint8_t kTunnelClientAuthId = 90;
inline constexpr std::uint8_t kTunnelServerAuthId = 91;
inline constexpr std::uint8_t kOriginatingLineInfo = 94;
inline constexpr std::uint8_t kNasIpv6Address = 95;
inline constexpr std::uint8_t kFramedInterfaceId = 96;
inline constexpr std::uint8_t kFramedIpv6Prefix = 97;
inline constexpr std::uint8_t kLoginIpv6Host = 98;
inline constexpr std::uint8_t kFramedIpv6Route = 99;
inline constexpr std::uint8_t kFramedIpv6Pool = 100;
inline constexpr std::uint8_t kErrorCause = 101;
inline constexpr std::uint8_t kDelegatedIpv6Prefix = 123;
inline constexpr std::uint8_t kFramedIpv6Address = 168;
inline constexpr std::uint8_t kDnsServerIpv6Address = 169;
inline constexpr std::uint8_t kRouteIpv6Information = 170;
inline constexpr std::uint8_t kDelegatedIpv6PrefixPool = 171;
inline constexpr std::uint8_t kStatefulIpv6AddressPool = 172;
}  // namespace attr

/// SMI Private Enterprise Numbers of vendors with built-in attributes.
namespace vendor {
/// ADSL Forum, now the Broadband Forum (RFC 4679, TR-101). FreeRADIUS calls it "ADSL-Forum".
inline constexpr std::uint32_t kAdslForum = 3561;
}  // namespace vendor

/// Broadband Forum access-line attributes inside vendor 3561 (RFC 4679 section 4).
namespace bbf {
inline constexpr std::uint8_t kAgentCircuitId = 1;
inline constexpr std::uint8_t kAgentRemoteId = 2;
inline constexpr std::uint8_t kActualDataRateUpstream = 129;
inline constexpr std::uint8_t kActualDataRateDownstream = 130;
inline constexpr std::uint8_t kMinimumDataRateUpstream = 131;
inline constexpr std::uint8_t kMinimumDataRateDownstream = 132;
inline constexpr std::uint8_t kAttainableDataRateUpstream = 133;
inline constexpr std::uint8_t kAttainableDataRateDownstream = 134;
inline constexpr std::uint8_t kMaximumDataRateUpstream = 135;
inline constexpr std::uint8_t kMaximumDataRateDownstream = 136;
inline constexpr std::uint8_t kMinimumDataRateUpstreamLowPower = 137;
inline constexpr std::uint8_t kMinimumDataRateDownstreamLowPower = 138;
inline constexpr std::uint8_t kMaximumInterleavingDelayUpstream = 139;
inline constexpr std::uint8_t kActualInterleavingDelayUpstream = 140;
inline constexpr std::uint8_t kMaximumInterleavingDelayDownstream = 141;
inline constexpr std::uint8_t kActualInterleavingDelayDownstream = 142;
inline constexpr std::uint8_t kAccessLoopEncapsulation = 144;
inline constexpr std::uint8_t kIwfSession = 254;
}  // namespace bbf

/// Acct-Status-Type values (RFC 2866 5.1, RFC 2867).
enum class AcctStatusType : std::uint32_t {
  kStart = 1,
  kStop = 2,
  kInterimUpdate = 3,
  kAccountingOn = 7,
  kAccountingOff = 8,
  kTunnelStart = 9,
  kTunnelStop = 10,
  kTunnelReject = 11,
  kTunnelLinkStart = 12,
  kTunnelLinkStop = 13,
  kTunnelLinkReject = 14,
  kFailed = 15,
};

/// Acct-Terminate-Cause values (RFC 2866 5.10, RFC 3580).
enum class AcctTerminateCause : std::uint32_t {
  kUserRequest = 1,
  kLostCarrier = 2,
  kLostService = 3,
  kIdleTimeout = 4,
  kSessionTimeout = 5,
  kAdminReset = 6,
  kAdminReboot = 7,
  kPortError = 8,
  kNasError = 9,
  kNasRequest = 10,
  kNasReboot = 11,
  kPortUnneeded = 12,
  kPortPreempted = 13,
  kPortSuspended = 14,
  kServiceUnavailable = 15,
  kCallback = 16,
  kUserError = 17,
  kHostRequest = 18,
  kSupplicantRestart = 19,
  kReauthenticationFailure = 20,
  kPortReinit = 21,
  kPortDisabled = 22,
};

/// Acct-Authentic values (RFC 2866 5.6).
enum class AcctAuthentic : std::uint32_t { kRadius = 1, kLocal = 2, kRemote = 3, kDiameter = 4 };

/// Service-Type values (RFC 2865 5.6, RFC 5176, RFC 5607).
enum class ServiceType : std::uint32_t {
  kLoginUser = 1,
  kFramedUser = 2,
  kCallbackLoginUser = 3,
  kCallbackFramedUser = 4,
  kOutboundUser = 5,
  kAdministrativeUser = 6,
  kNasPromptUser = 7,
  kAuthenticateOnly = 8,
  kCallbackNasPrompt = 9,
  kCallCheck = 10,
  kCallbackAdministrative = 11,
  kAuthorizeOnly = 17,
  kFramedManagement = 18,
};

/// Framed-Protocol values (RFC 2865 5.7).
enum class FramedProtocol : std::uint32_t {
  kPpp = 1,
  kSlip = 2,
  kArap = 3,
  kGandalfSlml = 4,
  kXylogicsIpxSlip = 5,
  kX75Synchronous = 6,
  kGprsPdpContext = 7,
};

/// NAS-Port-Type values (RFC 2865 5.41, RFC 3580, RFC 4603, IANA).
enum class NasPortType : std::uint32_t {
  kAsync = 0,
  kSync = 1,
  kIsdn = 2,
  kIsdnV120 = 3,
  kIsdnV110 = 4,
  kVirtual = 5,
  kPiafs = 6,
  kHdlcClearChannel = 7,
  kX25 = 8,
  kX75 = 9,
  kG3Fax = 10,
  kSdsl = 11,
  kAdslCap = 12,
  kAdslDmt = 13,
  kIdsl = 14,
  kEthernet = 15,
  kXdsl = 16,
  kCable = 17,
  kWirelessOther = 18,
  kWireless80211 = 19,
  kTokenRing = 20,
  kFddi = 21,
  kPppoa = 30,
  kPppoeoa = 31,
  kPppoeoe = 32,
  kPppoeovlan = 33,
  kPppoeoqinq = 34,
  kXpon = 35,
};

/// Error-Cause values (RFC 5176 3.6).
enum class ErrorCause : std::uint32_t {
  kResidualContextRemoved = 201,
  kInvalidEapPacket = 202,
  kUnsupportedAttribute = 401,
  kMissingAttribute = 402,
  kNasIdentificationMismatch = 403,
  kInvalidRequest = 404,
  kUnsupportedService = 405,
  kUnsupportedExtension = 406,
  kInvalidAttributeValue = 407,
  kAdministrativelyProhibited = 501,
  kProxyRequestNotRoutable = 502,
  kSessionContextNotFound = 503,
  kSessionContextNotRemovable = 504,
  kProxyProcessingError = 505,
  kResourcesUnavailable = 506,
  kRequestInitiated = 507,
  kMultipleSessionSelectionUnsupported = 508,
};

}  // namespace bngkit::bng::radius
