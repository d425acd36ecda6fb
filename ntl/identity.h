#ifndef TRUSTLINK_NTL_IDENTITY_H_
#define TRUSTLINK_NTL_IDENTITY_H_

// Identity: a key pair and a self-signed certificate for one name. The client's
// identity (vtl createCert) and the appliance's server.pem are made by the same
// code; `for_server` only adds the serverAuth extended key usage.
//
// Certificate profile (docs/adr/0001-default-key-type.md has the reasons):
// - X.509 v3, random 128-bit positive serial, subject = issuer = CN=<canonical
// name>;
// - subjectAltName of the right kind: DNS for a host name, IP for an address;
// - basicConstraints critical CA:TRUE, pathlen:0, and keyUsage keyCertSign: the
// peer loads
//   the certificate as its own trust anchor (CAFile.pem), and BoringSSL's X.509
//   verifier only accepts a self-signed anchor that is a CA ("unable to get
//   local issuer certificate" with CA:FALSE; OpenSSL 3 accepts both). pathlen:0
//   stops it from vouching for any chain longer than itself, and trustlink pins
//   the exact certificate anyway;
// - keyUsage critical digitalSignature, keyCertSign (plus keyEncipherment for
// RSA, for
//   TLS 1.2 peers);
// - extendedKeyUsage clientAuth, plus serverAuth when for_server;
// - subjectKeyIdentifier; notBefore = now - 5 minutes (clock skew), notAfter =
// now + days.

#include <openssl/base.h>
#include <openssl/evp.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "ntl/cert.h"
#include "ntl/internal/bounded_read.h"
#include "ntl/internal/safe_dir.h"
#include "ntl/names.h"

namespace trustlink::ntl {

enum class KeyType {
  kEd25519,
  kEcdsaP256,
  kEcdsaP384,
  kRsa2048,
  kRsa3072,
  kRsa4096
};

// kDefaultKeyType is chosen by measurement; see
// docs/adr/0001-default-key-type.md.
inline constexpr KeyType kDefaultKeyType = KeyType::kEd25519;

// kDefaultValidityDays is two years; kMaxValidityDays is twenty.
inline constexpr int kDefaultValidityDays = 730;
inline constexpr int kMaxValidityDays = 7305;

// ParseKeyType accepts, without regard to case: ed25519; p256, p-256,
// ecdsa-p256, ec256, prime256v1; p384, p-384, ecdsa-p384, ec384, secp384r1;
// rsa2048, rsa-2048, rsa3072, rsa-3072, rsa4096, rsa-4096; and "default".
// Errors carry TL_E_INVALID_ARGUMENT and list the choices.
absl::StatusOr<KeyType> ParseKeyType(absl::string_view text);

// KeyTypeName returns the canonical spelling: "ed25519", "p256", "p384",
// "rsa2048", "rsa3072", "rsa4096".
const char* KeyTypeName(KeyType type);

// IdentityOptions says what to make.
// Thread safety: a plain value.
struct IdentityOptions {
  KeyType key_type = kDefaultKeyType;
  int validity_days = kDefaultValidityDays;
  bool for_server = false;
  // now is the time the certificate is made at; InfinitePast means the current
  // time. Tests set it to make expired certificates.
  absl::Time now = absl::InfinitePast();
};

// Identity is a private key and its certificate.
// Thread safety: const access from many threads is safe; BoringSSL keys and
// certificates are reference counted and not modified after creation.
struct Identity {
  bssl::UniquePtr<EVP_PKEY> key;
  Certificate cert;
};

// GenerateKey makes a fresh key of `type`.
absl::StatusOr<bssl::UniquePtr<EVP_PKEY>> GenerateKey(KeyType type);

// CreateIdentity makes a key of options.key_type and a self-signed certificate
// for `name`. INVALID_ARGUMENT (TL_E_INVALID_ARGUMENT) if validity_days is not
// in 1..kMaxValidityDays.
absl::StatusOr<Identity> CreateIdentity(const CanonicalName& name,
                                        const IdentityOptions& options);

// PrivateKeyToPem returns `key` as an unencrypted PKCS#8 PEM block ("PRIVATE
// KEY").
absl::StatusOr<std::string> PrivateKeyToPem(const EVP_PKEY* key);

// ParsePrivateKeyPem parses a PKCS#8, RSA or EC private key PEM. `what` names
// the input.
absl::StatusOr<bssl::UniquePtr<EVP_PKEY>> ParsePrivateKeyPem(
    absl::string_view pem, absl::string_view what);

// KeyMatchesCertificate reports whether `key` is the private half of `cert`'s
// public key.
bool KeyMatchesCertificate(const EVP_PKEY* key, const Certificate& cert);

// WriteIdentity writes the key to `key_name` (mode 0600) and the certificate to
// `cert_name` (mode 0644) in `dir`. Without `force`, an existing file under
// either name is an error (TL_E_ALREADY_EXISTS) and nothing is written; the key
// is created with O_EXCL. With `force`, each is replaced atomically, key
// first: a crash between the two leaves a mismatched pair. Where the pair must
// change as one (the client root), use ReplaceIdentityInDir (identity_dir.h).
absl::Status WriteIdentity(const internal::SafeDir& dir,
                           absl::string_view cert_name,
                           absl::string_view key_name, const Identity& identity,
                           bool force);

// LoadIdentity reads an identity written by WriteIdentity. The key file is
// refused if group or others can access it (TL_E_KEY_PERMISSIONS, with the
// chmod to run), and the pair is refused if the key does not belong to the
// certificate (TL_E_CERT_INVALID).
absl::StatusOr<Identity> LoadIdentity(const internal::SafeDir& dir,
                                      absl::string_view cert_name,
                                      absl::string_view key_name);

// kMaxPemFileSize bounds every certificate or key file trustlink reads: the
// same 1 MiB as a file a user names (internal/bounded_read.h).
inline constexpr size_t kMaxPemFileSize = internal::kMaxPemInputSize;

}  // namespace trustlink::ntl

#endif  // TRUSTLINK_NTL_IDENTITY_H_
