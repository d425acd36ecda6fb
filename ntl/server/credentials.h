#ifndef TRUSTLINK_NTL_SERVER_CREDENTIALS_H_
#define TRUSTLINK_NTL_SERVER_CREDENTIALS_H_

// The appliance's server certificate as the engine sees it: the current one,
// served to new connections, and optionally the previous one during a regenCert
// overlap, under which live connections and tickets stay valid until the admin
// ends the overlap.

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "ntl/internal/mutex.h"
#include "third_party/boringssl_guard.h"

namespace trustlink::ntl::server {

// ServerCredential is one certificate and its private key.
// Thread safety: immutable after construction.
struct ServerCredential {
  bssl::UniquePtr<X509> cert;
  bssl::UniquePtr<EVP_PKEY> key;
  std::string fingerprint;  // SHA-256 of the certificate's DER, colon hex
  absl::Time not_after;

  // FromPem parses a certificate and its key and checks that they match.
  static absl::StatusOr<std::shared_ptr<const ServerCredential>> FromPem(
      absl::string_view cert_pem, absl::string_view key_pem);
};

// CredentialSet is what the server serves now.
struct CredentialSet {
  std::shared_ptr<const ServerCredential> current;  // never null
  std::shared_ptr<const ServerCredential>
      overlap;  // the previous certificate, or null
};

// CredentialSource hands out the current credentials; generation() changes when
// they do. Thread safety: implementations must be safe to call from any thread.
class CredentialSource {
 public:
  virtual ~CredentialSource() = default;
  virtual CredentialSet Get() const = 0;
  virtual uint64_t generation() const = 0;
};

// StaticCredentials is a CredentialSource set by its owner.
// Thread safety: all methods are safe to call from any thread.
class StaticCredentials : public CredentialSource {
 public:
  explicit StaticCredentials(std::shared_ptr<const ServerCredential> current);
  // Set replaces the credentials; `overlap` (may be null) keeps the previous
  // certificate's live connections and tickets valid.
  void Set(std::shared_ptr<const ServerCredential> current,
           std::shared_ptr<const ServerCredential> overlap);
  CredentialSet Get() const override;
  uint64_t generation() const override;

 private:
  mutable internal::Mutex mu_;
  CredentialSet set_ ABSL_GUARDED_BY(mu_);
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 1;
};

// Sha256Fingerprint returns the SHA-256 of `der` as upper-case colon-separated
// hex, the text `openssl x509 -fingerprint -sha256` prints.
std::string Sha256Fingerprint(absl::string_view der);

// CertificateFingerprint returns Sha256Fingerprint of `cert`'s DER encoding.
std::string CertificateFingerprint(X509* cert);

}  // namespace trustlink::ntl::server

#endif  // TRUSTLINK_NTL_SERVER_CREDENTIALS_H_
