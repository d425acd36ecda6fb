#ifndef TRUSTLINK_NTL_SERVER_HTL_GATE_H_
#define TRUSTLINK_NTL_SERVER_HTL_GATE_H_

// HtlGate: the seam between the NTLS engine and the Host Trust Link state
// (docs/htl.md, "Integration"). The engine knows the frames, the connections
// and when to ask; the gate knows tokens, secrets and proofs. htl/server_gate.h
// adapts htl::Appliance to it, so ntl/server does not depend on the HTL
// library and embedders without HTL pay nothing.

#include <openssl/ssl.h>

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ntl/wire/messages.h"
#include "third_party/boringssl_guard.h"

namespace trustlink::ntl::server {

// kHelloFeatureHtl is the hello feature bit a client sets when its
// configuration marks this server as HTL (ServerHtlNN = 1). It then sends an
// htl-proof frame right after hello. The wire defines it; this is its name on
// the server's side of the seam.
inline constexpr uint32_t kHelloFeatureHtl = wire::kFeatureClientRequiresHtl;

// HtlLinkInfo describes one htl/1 connection.
struct HtlLinkInfo {
  std::string id;       // unique per connection in this process
  std::string binding;  // the connection's HTL exporter value (Binding)
  std::string source;   // the peer, "203.0.113.7:40112" or "[::1]:40112"
};

// HtlGateEvent is what the HTL state tells the engine. kDown: close every HTL
// link and HTL-admitted application link of `client` at once. kAlert: log
// `message` at alert level (a clone: it names the client and both sources).
struct HtlGateEvent {
  enum class Kind { kDown, kAlert };
  Kind kind = Kind::kDown;
  std::string client;
  std::string message;
  // kAlert: where the stale proof came from, and where the live secret was
  // issued ("host:port"), for hosts that act on addresses (the C log hook).
  std::string source_presented;
  std::string source_other;
};

// Thread safety: implementations must be safe to call from any thread. The
// engine calls Binding on its event loops (it must be fast and must not
// block); every other method runs on the engine's single HTL worker thread and
// may block on file I/O.
class HtlGate {
 public:
  virtual ~HtlGate() = default;
  // Binding returns the value HTL proofs on `ssl` are bound to (a TLS
  // exporter, different for every session, resumed ones included), or an
  // error with a tl_status when the session cannot carry HTL.
  virtual absl::StatusOr<std::string> Binding(const SSL* ssl) = 0;
  // HandleRequest serves one htl/1 `request` of `client`: it returns the
  // response data (sent with TL_OK), or a status whose tl_status code and
  // message go back to the client.
  virtual absl::StatusOr<std::string> HandleRequest(absl::string_view client,
                                                    const HtlLinkInfo& link,
                                                    uint32_t op,
                                                    absl::string_view data) = 0;
  // LinkClosed says the htl/1 connection `link_id` of `client` ended.
  virtual void LinkClosed(absl::string_view client,
                          absl::string_view link_id) = 0;
  // CheckLinkProof decides whether an ntl/1 link of `client` whose binding is
  // `binding` may be admitted with the htl-proof payload `proof`. On refusal
  // the status carries the tl_status and the message for the goaway.
  virtual absl::Status CheckLinkProof(absl::string_view client,
                                      absl::string_view binding,
                                      absl::string_view proof) = 0;
  // Tick lets time-driven changes (grace periods ending) happen; the engine
  // calls it about once a second.
  virtual void Tick() = 0;
  // SetListener installs the receiver of events, replacing any earlier one
  // (null removes it). It may be called from any thread, without locks held.
  virtual void SetListener(
      std::function<void(const HtlGateEvent&)> listener) = 0;
};

}  // namespace trustlink::ntl::server

#endif  // TRUSTLINK_NTL_SERVER_HTL_GATE_H_
