#ifndef TRUSTLINK_NTL_CLIENT_HTL_PROOF_H_
#define TRUSTLINK_NTL_CLIENT_HTL_PROOF_H_

// LinkProofFor: the payload of the htl-proof frame an application link to an
// HTL server sends right after hello (docs/htl.md, "Frames"). The proof is
// bound to this TLS session's exporter, so it is asked for again after every
// handshake, resumed ones included.

#include <openssl/ssl.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "ntl/client/settings.h"
#include "third_party/boringssl_guard.h"

namespace trustlink::ntl::client {

// LinkProofFor asks the local HTL agent (at settings.htl_proof_socket, or the
// default path) for the proof of the link `ssl` to `server`, waiting at most
// until `deadline`, and returns the encoded LinkProof. The agent's codes come
// back unchanged: TL_E_HTL_AGENT_UNAVAILABLE (no agent runs: start
// htlclient), TL_E_HTL_DOWN (the agent holds no HTL for this server).
absl::StatusOr<std::string> LinkProofFor(const SSL* ssl,
                                         const ClientSettings& settings,
                                         absl::string_view server,
                                         absl::Time deadline);

}  // namespace trustlink::ntl::client

#endif  // TRUSTLINK_NTL_CLIENT_HTL_PROOF_H_
