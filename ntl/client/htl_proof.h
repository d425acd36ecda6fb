#ifndef TRUSTLINK_NTL_CLIENT_HTL_PROOF_H_
#define TRUSTLINK_NTL_CLIENT_HTL_PROOF_H_

// LinkProofFor: the payload of the htl-proof frame an application link to an
// HTL server sends right after hello (docs/htl.md, "Frames"). The proof is
// bound to this TLS session's exporter, so it is asked for again after every
// handshake, resumed ones included.
//
// The work is split so the agent can be asked off the I/O thread: the exporter
// is read from the SSL on the loop (PrepareLinkProof), the blocking request
// (AskAgent) needs only the plain data it returns.

#include <openssl/ssl.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "ntl/client/settings.h"
#include "third_party/boringssl_guard.h"

namespace trustlink::ntl::client {

// ProofRequest is everything AskAgent needs, as plain data.
struct ProofRequest {
  std::string socket_path;  // the agent's socket
  std::string server;       // the server (appliance) name
  std::string exporter;     // this session's HTL binding
  absl::Duration timeout;   // the whole exchange, connect included
  int cancel_fd = -1;       // readable: give up now (Workers::cancel_fd)
};

// PrepareLinkProof reads the exporter of `ssl` and picks the agent's socket
// (settings.htl_proof_socket, or the default path) and the request's timeout:
// settings.htl_proof_timeout, never past `deadline`, never below 50 ms.
// Fails only when the exporter cannot be had.
absl::StatusOr<ProofRequest> PrepareLinkProof(const SSL* ssl,
                                              const ClientSettings& settings,
                                              absl::string_view server,
                                              absl::Time deadline);

// AskAgent sends `request` to the local HTL agent and returns the encoded
// LinkProof. Blocking, for at most request.timeout; safe on any thread. The
// agent's codes come back unchanged, in a message that names the server:
// TL_E_HTL_AGENT_UNAVAILABLE (no agent runs: start htlclient), TL_E_HTL_DOWN
// (the agent holds no HTL for this server).
absl::StatusOr<std::string> AskAgent(const ProofRequest& request);

// ProofTimedOut is the failure of a link that stopped waiting for AskAgent
// after `waited`: TL_E_HTL_AGENT_UNAVAILABLE, in AskAgent's words.
absl::Status ProofTimedOut(const ProofRequest& request, absl::Duration waited);

// LinkProofFor is PrepareLinkProof then AskAgent, on this thread.
absl::StatusOr<std::string> LinkProofFor(const SSL* ssl,
                                         const ClientSettings& settings,
                                         absl::string_view server,
                                         absl::Time deadline);

}  // namespace trustlink::ntl::client

#endif  // TRUSTLINK_NTL_CLIENT_HTL_PROOF_H_
