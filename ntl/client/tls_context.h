#ifndef TRUSTLINK_NTL_CLIENT_TLS_CONTEXT_H_
#define TRUSTLINK_NTL_CLIENT_TLS_CONTEXT_H_

// The client's TLS context, shared by the application links (ALPN ntl/1,
// Connection) and the HTL agent's sessions (ALPN htl/1, FramedSession): the
// link policy, the client's certificate and key, and pinning instead of CA
// verification. One implementation, so the two kinds of link cannot drift
// apart.

#include <openssl/ssl.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ntl/client/settings.h"
#include "third_party/boringssl_guard.h"

namespace trustlink::ntl::client {

// PinnedPeer is what the context's callbacks find in SSL_get_app_data: set it
// with SSL_set_app_data(ssl, static_cast<PinnedPeer*>(peer)) on every SSL made
// from a context of MakeClientContext.
class PinnedPeer {
 public:
  virtual ~PinnedPeer() = default;
  // CheckPin returns true when the peer's leaf certificate is the pinned one;
  // otherwise it remembers why and returns false.
  virtual bool CheckPin(const SSL* ssl) = 0;
  // SetSession takes ownership of a new session ticket for resumption.
  virtual void SetSession(SSL_SESSION* session) = 0;
};

// MakeClientContext builds a client SSL_CTX offering exactly `alpn`, with the
// identity of `settings`. TL_E_CONFIG_INVALID names a missing or mismatched
// certificate or key and the command that fixes it.
absl::StatusOr<bssl::UniquePtr<SSL_CTX>> MakeClientContext(
    const ClientSettings& settings, absl::string_view alpn);

}  // namespace trustlink::ntl::client

#endif  // TRUSTLINK_NTL_CLIENT_TLS_CONTEXT_H_
