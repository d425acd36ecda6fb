#ifndef TRUSTLINK_HTL_SESSION_H_
#define TRUSTLINK_HTL_SESSION_H_

// HtlSession and HtlConnector: the seam between the HTL agent and the link that
// carries it. The real implementation is one TLS connection with ALPN htl/1 to
// the appliance, made by the NTLA client with the client certificate
// (docs/htl.md, "Integration"); tests use an in-process loopback into the real
// appliance state machine (htl/testing/loopback.h).

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace trustlink::htl {

// Thread safety: a session is used by one thread at a time (the agent
// serialises polls).
class HtlSession {
 public:
  virtual ~HtlSession() = default;
  // Exporter returns SSL_export_keying_material(kExporterLabel, no context,
  // kExporterLen) of this TLS session.
  virtual std::string Exporter() const = 0;
  // Call sends one `request` frame (op, payload) and returns the `response`
  // data. A refusal from the appliance comes back as its status with the
  // precise tl_status code (the response's status field); a broken connection
  // is TL_E_CONNECTION_LOST, after which the session is dead and the agent
  // makes a new one.
  virtual absl::StatusOr<std::string> Call(uint32_t op,
                                           absl::string_view payload) = 0;
};

// Thread safety: Connect may be called from the agent's thread only.
class HtlConnector {
 public:
  virtual ~HtlConnector() = default;
  // Connect opens an htl/1 session to `appliance` (a name from the client's
  // server list).
  virtual absl::StatusOr<std::unique_ptr<HtlSession>> Connect(
      absl::string_view appliance) = 0;
};

}  // namespace trustlink::htl

#endif  // TRUSTLINK_HTL_SESSION_H_
