// Downstreams from Kubernetes: the EndpointSlices of a Service, listed and then watched
// (with resume from the last resourceVersion, and a fresh list when the server says the
// version is gone) over HTTPS with the service account's token and CA. Ready endpoints
// that are not terminating become downstreams.
#pragma once

#include <bngkit/common/result.hpp>
#include <bngkit/fanout/config.hpp>
#include <bngkit/fanout/export.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace bngkit::fanout {

/// The downstreams one EndpointSlice (JSON, discovery.k8s.io/v1) contributes for
/// `source`: IPv4 addresses of endpoints whose `ready` is not false and whose
/// `terminating` is not true, at source.port, or at the slice port named
/// source.port_name. Named after the endpoint's targetRef (the pod), else its address.
[[nodiscard]] BNGKIT_FANOUT_EXPORT Result<std::vector<Downstream>> downstreams_from_slice(
    std::string_view slice_json, const KubernetesSource& source);

/// Watches the EndpointSlices of source.service in its namespace and reports the
/// merged, de-duplicated downstream list whenever it changes.
class BNGKIT_FANOUT_EXPORT EndpointSliceWatcher {
 public:
  /// Called from the watcher's thread with the full current list.
  using Callback = std::function<void(std::vector<Downstream>)>;

  struct Status {
    bool synced = false;           ///< a list succeeded (the downstreams are known)
    std::string namespace_name;    ///< the namespace watched
    std::string resource_version;  ///< last seen
    std::string last_error;        ///< of the last failed request, "" after a success
    std::uint64_t lists = 0;       ///< full lists done (1 + relists after "410 Gone")
    std::uint64_t watches = 0;     ///< watch requests made (resumes included)
    std::uint64_t events = 0;      ///< watch events applied
    std::uint64_t oversized = 0;   ///< responses or events over max_response_bytes, refused
  };

  EndpointSliceWatcher(KubernetesApiConfig api, KubernetesSource source, Callback on_change);
  ~EndpointSliceWatcher();
  EndpointSliceWatcher(const EndpointSliceWatcher&) = delete;
  EndpointSliceWatcher& operator=(const EndpointSliceWatcher&) = delete;

  /// Works out the API server and namespace (errors say what is missing) and starts the
  /// watcher's thread. Failures after that are retried with backoff, never fatal.
  [[nodiscard]] Result<void> start();
  /// Stops the thread, cutting any request in flight. Idempotent.
  void stop() noexcept;
  /// True while the thread runs.
  [[nodiscard]] bool running() const noexcept;
  [[nodiscard]] Status status() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace bngkit::fanout
