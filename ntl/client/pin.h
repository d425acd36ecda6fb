#ifndef TRUSTLINK_NTL_CLIENT_PIN_H_
#define TRUSTLINK_NTL_CLIENT_PIN_H_

// Certificate pinning helpers and the mapping from TLS failures to precise link
// statuses. Until the shared //ntl:cert lands these use BoringSSL directly;
// they only need DER bytes.

#include <openssl/ssl.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "third_party/boringssl_guard.h"

namespace trustlink::ntl::client {

// Sha256Fingerprint returns the upper-case colon-separated SHA-256 of `der`,
// the same text as `openssl x509 -fingerprint -sha256`.
std::string Sha256Fingerprint(absl::string_view der);

// PemToDer parses exactly one PEM certificate; `what` names it in errors.
absl::StatusOr<std::string> CertPemToDer(absl::string_view pem,
                                         absl::string_view what);

// PeerLeafDer returns the DER of the certificate the peer presented on `ssl`,
// or "".
std::string PeerLeafDer(const SSL* ssl);

// PinMismatch makes the TL_E_CERT_PIN_MISMATCH status naming both fingerprints.
absl::Status PinMismatch(absl::string_view server,
                         absl::string_view presented_der,
                         absl::string_view pinned_der);

// TlsFailure turns a failed SSL_do_handshake/SSL_read/SSL_write (ssl_error from
// SSL_get_error, the thread's ERR queue) into a status. Alerts the appliance
// sends on admission map to precise codes: certificate_unknown ->
// TL_E_NOT_REGISTERED, access_denied -> TL_E_IP_MISMATCH. It clears the ERR
// queue.
absl::Status TlsFailure(absl::string_view server, int ssl_error,
                        int saved_errno, bool handshake_done);

}  // namespace trustlink::ntl::client

#endif  // TRUSTLINK_NTL_CLIENT_PIN_H_
