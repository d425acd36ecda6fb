#ifndef TRUSTLINK_NTL_CERT_H_
#define TRUSTLINK_NTL_CERT_H_

// Certificate: one X.509 certificate, with the questions trustlink asks of it
// (fingerprint, validity, names) and a PEM parser whose errors tell an admin
// what they actually gave it.

#include <openssl/base.h>
#include <openssl/x509.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "ntl/names.h"

namespace trustlink::ntl {

// Certificate owns a reference to an X509.
// Thread safety: const methods may be called from many threads at once. Copies
// share the underlying X509 (reference counted), which is never modified after
// construction.
class Certificate {
 public:
  // ParsePem parses `pem`, which must hold exactly one "CERTIFICATE" PEM block
  // (text outside blocks is ignored, as openssl does). `what` names the input
  // in errors ("file server.pem"). Errors (TL_E_CERT_INVALID) distinguish: no
  // PEM at all, a private key instead of a certificate, a truncated block, two
  // or more certificates, and bytes that do not parse.
  static absl::StatusOr<Certificate> ParsePem(absl::string_view pem,
                                              absl::string_view what);

  // ParsePemList parses zero or more "CERTIFICATE" blocks (a CAFile.pem
  // bundle). Any other block type, or a block that does not parse, is an error.
  static absl::StatusOr<std::vector<Certificate>> ParsePemList(
      absl::string_view pem, absl::string_view what);

  // ParseDer parses one DER certificate with no trailing bytes.
  static absl::StatusOr<Certificate> ParseDer(absl::string_view der,
                                              absl::string_view what);

  // FromX509 takes a new reference to `x509` (which must not be NULL).
  static Certificate FromX509(X509* x509);

  Certificate(const Certificate& other);
  Certificate& operator=(const Certificate& other);
  Certificate(Certificate&&) noexcept = default;
  Certificate& operator=(Certificate&&) noexcept = default;
  ~Certificate() = default;

  // Pem returns the certificate as one PEM block ending in a newline.
  std::string Pem() const;
  // Der returns the DER encoding.
  std::string Der() const;
  // Sha256Fingerprint returns the SHA-256 of the DER as upper-case
  // colon-separated hex, the same text `openssl x509 -noout -fingerprint
  // -sha256` prints after '='.
  std::string Sha256Fingerprint() const;
  absl::Time NotBefore() const;
  absl::Time NotAfter() const;
  // IsExpired reports whether `now` is after NotAfter.
  bool IsExpired(absl::Time now) const { return now > NotAfter(); }
  // CommonName returns the subject's (last) CN, or "" if there is none.
  std::string CommonName() const;
  // Name is the name the certificate is for: its first DNS subjectAltName, else
  // its first IP one, else its CN (a name over 64 characters has no CN: see
  // ntl/identity.cc).
  std::string Name() const;
  // DnsNames returns the DNS subjectAltNames as written.
  std::vector<std::string> DnsNames() const;
  // IpAddresses returns the IP subjectAltNames in canonical text (RFC 5952 for
  // IPv6).
  std::vector<std::string> IpAddresses() const;
  // MatchesName reports whether the certificate names `name`: a DNS SAN equal
  // to a host name without regard to case (no wildcards), or an IP SAN equal to
  // an address. Only when the certificate has no DNS or IP SAN at all is the CN
  // compared instead (RFC 6125 fallback, for appliance certificates from older
  // tools).
  bool MatchesName(const CanonicalName& name) const;
  // KeyTypeDescription returns e.g. "Ed25519", "ECDSA P-256", "RSA 2048".
  std::string KeyTypeDescription() const;

  // get returns the X509, owned by this Certificate.
  X509* get() const { return x509_.get(); }

 private:
  explicit Certificate(bssl::UniquePtr<X509> x509) : x509_(std::move(x509)) {}
  bssl::UniquePtr<X509> x509_;
};

// Sha256FingerprintOfDer returns the fingerprint text of a DER certificate (or
// any bytes).
std::string Sha256FingerprintOfDer(absl::string_view der);

}  // namespace trustlink::ntl

#endif  // TRUSTLINK_NTL_CERT_H_
