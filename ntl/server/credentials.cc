#include "ntl/server/credentials.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "ntl/status.h"

namespace trustlink::ntl::server {
namespace {

absl::Time Asn1TimeToAbsl(const ASN1_TIME* t) {
  // ASN1_TIME_diff with a null `from` measures from now.
  const absl::Time now = absl::Now();
  int days = 0;
  int secs = 0;
  if (t == nullptr || !ASN1_TIME_diff(&days, &secs, nullptr, t)) {
    return absl::InfinitePast();
  }
  return now + absl::Hours(24) * days + absl::Seconds(secs);
}

}  // namespace

std::string Sha256Fingerprint(absl::string_view der) {
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const uint8_t*>(der.data()), der.size(), digest);
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(sizeof(digest) * 3);
  for (size_t i = 0; i < sizeof(digest); ++i) {
    if (i > 0) {
      out.push_back(':');
    }
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 15]);
  }
  return out;
}

std::string CertificateFingerprint(X509* cert) {
  uint8_t* der = nullptr;
  const int len = i2d_X509(cert, &der);
  if (len <= 0) {
    return "";
  }
  std::string fp = Sha256Fingerprint(absl::string_view(
      reinterpret_cast<const char*>(der), static_cast<size_t>(len)));
  OPENSSL_free(der);
  return fp;
}

absl::StatusOr<std::shared_ptr<const ServerCredential>>
ServerCredential::FromPem(absl::string_view cert_pem,
                          absl::string_view key_pem) {
  bssl::UniquePtr<BIO> cbio(BIO_new_mem_buf(cert_pem.data(), cert_pem.size()));
  bssl::UniquePtr<X509> cert(
      PEM_read_bio_X509(cbio.get(), nullptr, nullptr, nullptr));
  if (!cert) {
    return Error(
        absl::StatusCode::kInvalidArgument, TL_E_CERT_INVALID,
        "the server certificate is not a PEM certificate; regenerate it "
        "(tl_registry_regenerate_server_certificate)");
  }
  bssl::UniquePtr<BIO> kbio(BIO_new_mem_buf(key_pem.data(), key_pem.size()));
  bssl::UniquePtr<EVP_PKEY> key(
      PEM_read_bio_PrivateKey(kbio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    return Error(absl::StatusCode::kInvalidArgument, TL_E_PARSE,
                 "the server private key is not a PEM private key");
  }
  if (!X509_check_private_key(cert.get(), key.get())) {
    return Error(absl::StatusCode::kInvalidArgument, TL_E_CERT_INVALID,
                 "the server private key does not match server.pem; regenerate "
                 "both (tl_registry_regenerate_server_certificate)");
  }
  auto cred = std::make_shared<ServerCredential>();
  cred->fingerprint = CertificateFingerprint(cert.get());
  cred->not_after = Asn1TimeToAbsl(X509_get0_notAfter(cert.get()));
  cred->cert = std::move(cert);
  cred->key = std::move(key);
  return std::shared_ptr<const ServerCredential>(std::move(cred));
}

StaticCredentials::StaticCredentials(
    std::shared_ptr<const ServerCredential> current) {
  internal::MutexLock lock(&mu_);
  set_.current = std::move(current);
}

void StaticCredentials::Set(std::shared_ptr<const ServerCredential> current,
                            std::shared_ptr<const ServerCredential> overlap) {
  internal::MutexLock lock(&mu_);
  set_.current = std::move(current);
  set_.overlap = std::move(overlap);
  ++generation_;
}

CredentialSet StaticCredentials::Get() const {
  internal::MutexLock lock(&mu_);
  return set_;
}

uint64_t StaticCredentials::generation() const {
  internal::MutexLock lock(&mu_);
  return generation_;
}

}  // namespace trustlink::ntl::server
