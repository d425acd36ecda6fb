#ifndef TRUSTLINK_NTL_TLS_POLICY_H_
#define TRUSTLINK_NTL_TLS_POLICY_H_

// The TLS policy every trustlink link uses, server and client alike, in one
// place so the two sides cannot drift apart: TLS 1.3 preferred and 1.2 allowed,
// AEAD suites only, no renegotiation, no 0-RTT, ALPN required, and signature
// algorithms that include Ed25519 (BoringSSL leaves it out of its default
// verify list, so an Ed25519 peer would otherwise fail with no common signature
// algorithm).

#include <openssl/ssl.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "third_party/boringssl_guard.h"

namespace trustlink::ntl::tls {

// ALPN protocol names. The version is part of the name, so a future
// incompatible wire is a new name that both sides must offer.
inline constexpr absl::string_view kAlpnNtl = "ntl/1";
inline constexpr absl::string_view kAlpnHtl = "htl/1";

enum class Role { kClient, kServer };

// ApplyLinkPolicy sets versions, cipher suites, groups, signature algorithms
// and 0-RTT on `ctx`. It sets no certificates and no peer verification: the
// server and client add their own (registered-fingerprint admission, and
// pinning to the registered server certificate).
absl::Status ApplyLinkPolicy(SSL_CTX* ctx, Role role);

// OfferAlpn makes a client offer exactly `protocol`.
absl::Status OfferAlpn(SSL_CTX* ctx, absl::string_view protocol);

// RequireAlpn makes a server accept only the listed protocols (one or two; a
// server on one port can serve both ntl/1 and htl/1), and refuse a client that
// offers none of them with the no_application_protocol alert. `protocols` must
// outlive `ctx`.
void RequireAlpn(SSL_CTX* ctx, const absl::string_view* protocols,
                 size_t num_protocols);

// NegotiatedAlpn returns the protocol agreed on `ssl`, or "" before or without
// one.
absl::string_view NegotiatedAlpn(const SSL* ssl);

}  // namespace trustlink::ntl::tls

#endif  // TRUSTLINK_NTL_TLS_POLICY_H_
