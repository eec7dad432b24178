// What a fanout is told to do: listeners (bind, engine, policy, downstreams, discovery,
// tuning) and health probing. Plain values; the daemon fills them from TOML.
#pragma once

#include <bngkit/common/result.hpp>
#include <bngkit/fanout/endpoint.hpp>
#include <bngkit/fanout/export.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bngkit::fanout {

/// Which data path moves a listener's datagrams.
enum class Mode : std::uint8_t {
  userspace,  ///< recvmmsg/sendmmsg workers on SO_REUSEPORT sockets
  tc_ebpf,    ///< a TC clsact ingress program on the listener's interface
};

/// What happens to each datagram.
enum class Policy : std::uint8_t {
  replicate,  ///< a copy to every healthy downstream
  balance,    ///< one healthy downstream per datagram
};

/// How `balance` picks the downstream.
enum class BalanceMethod : std::uint8_t {
  round_robin,  ///< in turn (per worker / per CPU)
  flow_hash,    ///< by source address and port, sticky while the set changes (Maglev)
};

/// Health probe kind.
enum class ProbeProtocol : std::uint8_t {
  icmp,      ///< ICMP echo over a raw socket to the downstream's address
  udp_echo,  ///< a UDP datagram that must come back unchanged (RFC 862 style)
};

[[nodiscard]] BNGKIT_FANOUT_EXPORT std::string_view to_string(Mode m) noexcept;
[[nodiscard]] BNGKIT_FANOUT_EXPORT std::string_view to_string(Policy p) noexcept;
[[nodiscard]] BNGKIT_FANOUT_EXPORT std::string_view to_string(BalanceMethod b) noexcept;
[[nodiscard]] BNGKIT_FANOUT_EXPORT std::string_view to_string(ProbeProtocol p) noexcept;
[[nodiscard]] BNGKIT_FANOUT_EXPORT std::optional<Mode> parse_mode(std::string_view s) noexcept;
[[nodiscard]] BNGKIT_FANOUT_EXPORT std::optional<Policy> parse_policy(std::string_view s) noexcept;
[[nodiscard]] BNGKIT_FANOUT_EXPORT std::optional<BalanceMethod> parse_balance_method(
    std::string_view s) noexcept;
[[nodiscard]] BNGKIT_FANOUT_EXPORT std::optional<ProbeProtocol> parse_probe_protocol(
    std::string_view s) noexcept;

/// A receiver of a listener's datagrams.
struct Downstream {
  std::string name;  ///< for metrics and logs
  Endpoint address;
  friend bool operator==(const Downstream&, const Downstream&) = default;
};

/// Userspace engine tuning ([listeners.settings]).
struct UserspaceSettings {
  std::uint32_t batch_size = 64;    ///< datagrams per recvmmsg
  std::uint32_t workers = 1;        ///< SO_REUSEPORT sockets, one thread each
  bool pin_cpus = false;            ///< pin worker i to the i-th CPU of the process's CPU set
  std::uint32_t recv_buf_size = 0;  ///< SO_RCVBUF(FORCE) bytes; 0: kernel default
  std::uint32_t send_buf_size = 0;  ///< SO_SNDBUF(FORCE) bytes; 0: kernel default
  /// Largest datagram relayed; larger ones are dropped (reason "truncated").
  std::uint32_t max_datagram_size = 9216;
  /// Send runs of equal-sized datagrams to one downstream as one UDP GSO buffer.
  bool gso = true;
};

/// EndpointSlices of a Kubernetes Service as a downstream source ([listeners.kubernetes]).
struct KubernetesSource {
  std::string namespace_name;  ///< empty: the pod's own namespace (service account)
  std::string service;
  std::uint16_t port = 0;  ///< port on the endpoints; 0: the slice port named `port_name`
  std::string port_name;   ///< EndpointSlice port name when `port` is 0
};

/// One listener: where datagrams arrive, how they leave, and to whom.
struct ListenerConfig {
  std::string name;
  Endpoint bind;          ///< address 0 binds every address
  std::string interface;  ///< TC engine attach point (required for tc_ebpf)
  Mode mode = Mode::userspace;
  Policy policy = Policy::replicate;
  BalanceMethod balance = BalanceMethod::round_robin;
  /// Receivers see the original sender as source. Always so in tc_ebpf; in userspace it
  /// needs a raw socket (CAP_NET_RAW) and datagrams that fit the path MTU.
  bool preserve_source = true;
  std::vector<Downstream> downstreams;  ///< static downstreams
  std::optional<KubernetesSource> kubernetes;
  UserspaceSettings settings;
};

/// Health probing of every downstream ([health]).
struct HealthConfig {
  bool enabled = true;
  std::chrono::milliseconds interval{5000};
  std::chrono::milliseconds timeout{2000};
  ProbeProtocol protocol = ProbeProtocol::icmp;
  /// Consecutive failed probes that take a downstream out of rotation.
  std::uint32_t failure_threshold = 3;
  /// Consecutive good probes that bring it back.
  std::uint32_t recovery_threshold = 1;
  /// udp_echo: port to probe; 0 probes the downstream's own port.
  std::uint16_t udp_port = 0;
};

/// The TC engine's kernel objects.
struct TcConfig {
  /// bpffs directory for the pinned maps that carry state across restarts.
  std::string pin_path = "/sys/fs/bpf/udp-fanout";
  /// Leave the program attached and the maps pinned at exit (rolling update: the next
  /// instance takes them over). false: detach and unpin on stop.
  bool keep_attached = false;
};

/// Where the service account's files are mounted in a pod.
inline constexpr std::string_view kServiceAccountDir =
    "/var/run/secrets/kubernetes.io/serviceaccount";

/// How to reach the Kubernetes API server ([kubernetes]); the defaults are in-cluster.
struct KubernetesApiConfig {
  /// "https://host:port". Empty: in-cluster, from KUBERNETES_SERVICE_HOST and
  /// KUBERNETES_SERVICE_PORT.
  std::string api_server;
  std::string token_file = std::string(kServiceAccountDir) + "/token";  ///< re-read per request
  std::string ca_file = std::string(kServiceAccountDir) + "/ca.crt";
  /// The namespace used when a listener's [listeners.kubernetes] names none.
  std::string namespace_file = std::string(kServiceAccountDir) + "/namespace";
  std::chrono::milliseconds request_timeout{10'000};  ///< connect, TLS, request, LIST
  std::chrono::seconds watch_timeout{300};     ///< timeoutSeconds asked of the server per watch
  std::chrono::milliseconds backoff_min{500};  ///< retry delay after a failure, doubling
  std::chrono::milliseconds backoff_max{30'000};
  /// Largest LIST response and largest single watch event read from the API server; a
  /// bigger one is refused (counted in Status::oversized) and the request retried.
  std::size_t max_response_bytes = std::size_t{64} << 20;
};

/// Everything a Fanout runs.
struct FanoutConfig {
  std::vector<ListenerConfig> listeners;
  HealthConfig health;
  TcConfig tc;
  KubernetesApiConfig kubernetes;  ///< used by listeners with a [listeners.kubernetes] source
};

/// Problems a config has regardless of where it came from (duplicate names or binds,
/// bad thresholds, tc_ebpf without an interface...), one sentence each; empty when fine.
[[nodiscard]] BNGKIT_FANOUT_EXPORT std::vector<std::string> config_problems(
    const FanoutConfig& config);

}  // namespace bngkit::fanout
