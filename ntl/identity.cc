#include "ntl/identity.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/bytestring.h>
#include <openssl/digest.h>
#include <openssl/ec_key.h>
#include <openssl/err.h>
#include <openssl/nid.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "ntl/status.h"

namespace trustlink::ntl {
namespace {

absl::Status CryptoError(absl::string_view what) {
  uint32_t err = ERR_get_error();
  char buf[256];
  ERR_error_string_n(err, buf, sizeof(buf));
  ERR_clear_error();
  return Error(absl::StatusCode::kInternal, TL_E_INTERNAL,
               absl::StrCat(what, " failed: ", buf));
}

bool AddExtension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  bssl::UniquePtr<X509_EXTENSION> ext(
      X509V3_EXT_nconf_nid(nullptr, ctx, nid, value));
  return ext && X509_add_ext(cert, ext.get(), -1);
}

bool AddIpSan(X509* cert, const CanonicalName& name) {
  unsigned char addr[16];
  int family = name.kind == NameKind::kIPv4 ? AF_INET : AF_INET6;
  if (::inet_pton(family, name.canonical.c_str(), addr) != 1) return false;
  bssl::UniquePtr<GENERAL_NAMES> names(sk_GENERAL_NAME_new_null());
  bssl::UniquePtr<GENERAL_NAME> gn(GENERAL_NAME_new());
  bssl::UniquePtr<ASN1_OCTET_STRING> ip(ASN1_OCTET_STRING_new());
  if (!names || !gn || !ip ||
      !ASN1_OCTET_STRING_set(ip.get(), addr, family == AF_INET ? 4 : 16)) {
    return false;
  }
  gn->type = GEN_IPADD;
  gn->d.iPAddress = ip.release();
  if (!sk_GENERAL_NAME_push(names.get(), gn.get())) return false;
  gn.release();
  return X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, 0) == 1;
}

bool AddDnsSan(X509* cert, const CanonicalName& name) {
  bssl::UniquePtr<GENERAL_NAMES> names(sk_GENERAL_NAME_new_null());
  bssl::UniquePtr<GENERAL_NAME> gn(GENERAL_NAME_new());
  bssl::UniquePtr<ASN1_IA5STRING> dns(ASN1_IA5STRING_new());
  if (!names || !gn || !dns ||
      !ASN1_STRING_set(dns.get(), name.canonical.data(),
                       static_cast<int>(name.canonical.size()))) {
    return false;
  }
  gn->type = GEN_DNS;
  gn->d.dNSName = dns.release();
  if (!sk_GENERAL_NAME_push(names.get(), gn.get())) return false;
  gn.release();
  return X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, 0) == 1;
}

// RFC 5280 (Appendix A, ub-common-name) limits a commonName to 64 characters,
// and BoringSSL refuses a longer one. A host name may have 253, and the name
// that matters is in the subjectAltName anyway; so a longer name goes into the
// subject as one domainComponent per label (RFC 4519, most significant first
// as RFC 2247 encodes DNS names; a label has at most 63 characters).
constexpr size_t kMaxCommonNameLength = 64;

bool SetSubject(X509_NAME* subject, const CanonicalName& name) {
  if (name.canonical.size() <= kMaxCommonNameLength) {
    return X509_NAME_add_entry_by_NID(
        subject, NID_commonName, MBSTRING_UTF8,
        reinterpret_cast<const uint8_t*>(name.canonical.data()),
        static_cast<int>(name.canonical.size()), -1, 0);
  }
  std::vector<absl::string_view> labels = absl::StrSplit(name.canonical, '.');
  for (auto it = labels.rbegin(); it != labels.rend(); ++it) {
    if (!X509_NAME_add_entry_by_NID(
            subject, NID_domainComponent, MBSTRING_ASC,
            reinterpret_cast<const uint8_t*>(it->data()),
            static_cast<int>(it->size()), -1, 0)) {
      return false;
    }
  }
  return true;
}

bool SetRandomSerial(X509* cert) {
  uint8_t bytes[16];
  RAND_bytes(bytes, sizeof(bytes));
  // Positive and non-zero, with no leading zero byte so it encodes to 16 bytes.
  bytes[0] = static_cast<uint8_t>((bytes[0] & 0x7f) | 0x40);
  bssl::UniquePtr<BIGNUM> bn(BN_bin2bn(bytes, sizeof(bytes), nullptr));
  return bn &&
         BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) != nullptr;
}

}  // namespace

absl::StatusOr<KeyType> ParseKeyType(absl::string_view text) {
  std::string t = absl::AsciiStrToLower(text);
  if (t == "default") return kDefaultKeyType;
  if (t == "ed25519") return KeyType::kEd25519;
  if (t == "p256" || t == "p-256" || t == "ecdsa-p256" || t == "ec256" ||
      t == "prime256v1" || t == "ecdsa") {
    return KeyType::kEcdsaP256;
  }
  if (t == "p384" || t == "p-384" || t == "ecdsa-p384" || t == "ec384" ||
      t == "secp384r1") {
    return KeyType::kEcdsaP384;
  }
  if (t == "rsa2048" || t == "rsa-2048" || t == "rsa") return KeyType::kRsa2048;
  if (t == "rsa3072" || t == "rsa-3072") return KeyType::kRsa3072;
  if (t == "rsa4096" || t == "rsa-4096") return KeyType::kRsa4096;
  return Error(
      absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
      absl::StrCat(
          "unknown key type '", text,
          "'; choose ed25519, p256, p384, rsa2048, rsa3072 or rsa4096"));
}

const char* KeyTypeName(KeyType type) {
  switch (type) {
    case KeyType::kEd25519:
      return "ed25519";
    case KeyType::kEcdsaP256:
      return "p256";
    case KeyType::kEcdsaP384:
      return "p384";
    case KeyType::kRsa2048:
      return "rsa2048";
    case KeyType::kRsa3072:
      return "rsa3072";
    case KeyType::kRsa4096:
      return "rsa4096";
  }
  return "unknown";
}

absl::StatusOr<bssl::UniquePtr<EVP_PKEY>> GenerateKey(KeyType type) {
  bssl::UniquePtr<EVP_PKEY> pkey(EVP_PKEY_new());
  if (!pkey) return CryptoError("EVP_PKEY_new");
  switch (type) {
    case KeyType::kEd25519: {
      bssl::UniquePtr<EVP_PKEY_CTX> ctx(
          EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr));
      EVP_PKEY* raw = nullptr;
      if (!ctx || !EVP_PKEY_keygen_init(ctx.get()) ||
          !EVP_PKEY_keygen(ctx.get(), &raw)) {
        return CryptoError("Ed25519 key generation");
      }
      pkey.reset(raw);
      return pkey;
    }
    case KeyType::kEcdsaP256:
    case KeyType::kEcdsaP384: {
      int nid =
          type == KeyType::kEcdsaP256 ? NID_X9_62_prime256v1 : NID_secp384r1;
      bssl::UniquePtr<EC_KEY> ec(EC_KEY_new_by_curve_name(nid));
      if (!ec || !EC_KEY_generate_key(ec.get()) ||
          !EVP_PKEY_assign_EC_KEY(pkey.get(), ec.release())) {
        return CryptoError("ECDSA key generation");
      }
      return pkey;
    }
    case KeyType::kRsa2048:
    case KeyType::kRsa3072:
    case KeyType::kRsa4096: {
      int bits = type == KeyType::kRsa2048   ? 2048
                 : type == KeyType::kRsa3072 ? 3072
                                             : 4096;
      bssl::UniquePtr<RSA> rsa(RSA_new());
      bssl::UniquePtr<BIGNUM> e(BN_new());
      if (!rsa || !e || !BN_set_word(e.get(), RSA_F4) ||
          !RSA_generate_key_ex(rsa.get(), bits, e.get(), nullptr) ||
          !EVP_PKEY_assign_RSA(pkey.get(), rsa.release())) {
        return CryptoError("RSA key generation");
      }
      return pkey;
    }
  }
  return Error(absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
               "bad key type");
}

absl::StatusOr<Identity> CreateIdentity(const CanonicalName& name,
                                        const IdentityOptions& options) {
  if (options.validity_days < 1 || options.validity_days > kMaxValidityDays) {
    return Error(absl::StatusCode::kInvalidArgument, TL_E_INVALID_ARGUMENT,
                 absl::StrCat("validity of ", options.validity_days,
                              " days is out of range; give 1 to ",
                              kMaxValidityDays, " days (20 years)"));
  }
  absl::StatusOr<bssl::UniquePtr<EVP_PKEY>> key = GenerateKey(options.key_type);
  if (!key.ok()) return key.status();
  EVP_PKEY* pkey = key->get();

  bssl::UniquePtr<X509> cert(X509_new());
  if (!cert || !X509_set_version(cert.get(), X509_VERSION_3) ||
      !SetRandomSerial(cert.get())) {
    return CryptoError("certificate setup");
  }
  absl::Time now =
      options.now == absl::InfinitePast() ? absl::Now() : options.now;
  int64_t not_before = absl::ToUnixSeconds(now - absl::Minutes(5));
  int64_t not_after =
      absl::ToUnixSeconds(now + absl::Hours(24) * options.validity_days);
  if (!ASN1_TIME_set(X509_getm_notBefore(cert.get()),
                     static_cast<time_t>(not_before)) ||
      !ASN1_TIME_set(X509_getm_notAfter(cert.get()),
                     static_cast<time_t>(not_after))) {
    return CryptoError("certificate validity");
  }
  X509_NAME* subject = X509_get_subject_name(cert.get());
  if (!SetSubject(subject, name) ||
      !X509_set_issuer_name(cert.get(), subject) ||
      !X509_set_pubkey(cert.get(), pkey)) {
    return CryptoError("certificate subject");
  }

  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  bool is_rsa = EVP_PKEY_id(pkey) == EVP_PKEY_RSA;
  const char* eku = options.for_server ? "clientAuth,serverAuth" : "clientAuth";
  bool san_ok = name.kind == NameKind::kHostname ? AddDnsSan(cert.get(), name)
                                                 : AddIpSan(cert.get(), name);
  if (!san_ok ||
      !AddExtension(cert.get(), &ctx, NID_basic_constraints,
                    "critical,CA:TRUE,pathlen:0") ||
      !AddExtension(
          cert.get(), &ctx, NID_key_usage,
          is_rsa ? "critical,digitalSignature,keyEncipherment,keyCertSign"
                 : "critical,digitalSignature,keyCertSign") ||
      !AddExtension(cert.get(), &ctx, NID_ext_key_usage, eku) ||
      !AddExtension(cert.get(), &ctx, NID_subject_key_identifier, "hash")) {
    return CryptoError("certificate extensions");
  }

  const EVP_MD* md = nullptr;  // Ed25519 signs the message itself.
  if (options.key_type == KeyType::kEcdsaP384) {
    md = EVP_sha384();
  } else if (options.key_type != KeyType::kEd25519) {
    md = EVP_sha256();
  }
  if (!X509_sign(cert.get(), pkey, md))
    return CryptoError("certificate signing");
  Certificate certificate = Certificate::FromX509(cert.get());
  return Identity{*std::move(key), std::move(certificate)};
}

absl::StatusOr<std::string> PrivateKeyToPem(const EVP_PKEY* key) {
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      !PEM_write_bio_PrivateKey(bio.get(), const_cast<EVP_PKEY*>(key), nullptr,
                                nullptr, 0, nullptr, nullptr)) {
    return CryptoError("writing the private key");
  }
  const uint8_t* data = nullptr;
  size_t len = 0;
  BIO_mem_contents(bio.get(), &data, &len);
  return std::string(reinterpret_cast<const char*>(data), len);
}

absl::StatusOr<bssl::UniquePtr<EVP_PKEY>> ParsePrivateKeyPem(
    absl::string_view pem, absl::string_view what) {
  bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(pem.data(), pem.size()));
  bssl::UniquePtr<EVP_PKEY> key(
      bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)
          : nullptr);
  if (!key) {
    ERR_clear_error();
    return Error(
        absl::StatusCode::kInvalidArgument, TL_E_CERT_INVALID,
        absl::StrCat(what, " does not hold an unencrypted PEM private key; ",
                     kRecreateIdentityFix));
  }
  return key;
}

bool KeyMatchesCertificate(const EVP_PKEY* key, const Certificate& cert) {
  bssl::UniquePtr<EVP_PKEY> pub(X509_get_pubkey(cert.get()));
  return pub && EVP_PKEY_cmp(pub.get(), key) == 1;
}

absl::Status WriteIdentity(const internal::SafeDir& dir,
                           absl::string_view cert_name,
                           absl::string_view key_name, const Identity& identity,
                           bool force) {
  absl::StatusOr<std::string> key_pem = PrivateKeyToPem(identity.key.get());
  if (!key_pem.ok()) return key_pem.status();
  std::string cert_pem = identity.cert.Pem();
  if (!force) {
    for (absl::string_view name : {cert_name, key_name}) {
      absl::StatusOr<bool> exists = dir.Exists(name);
      if (!exists.ok()) return exists.status();
      if (*exists) {
        return Error(
            absl::StatusCode::kAlreadyExists, TL_E_ALREADY_EXISTS,
            absl::StrCat(
                dir.PathOf(name),
                " already exists; nothing was written. Pass force to "
                "replace the identity (the appliance must then register "
                "the new certificate)"));
      }
    }
    absl::Status status = dir.CreateFileExclusive(key_name, *key_pem, 0600);
    if (!status.ok()) return status;
    status = dir.CreateFileExclusive(cert_name, cert_pem, 0644);
    if (!status.ok()) {
      // Leave nothing half-made: a key without its certificate is of no use.
      (void)dir.RemoveFile(key_name);
      return status;
    }
    return absl::OkStatus();
  }
  absl::Status status = dir.WriteFileAtomic(key_name, *key_pem, 0600);
  if (!status.ok()) return status;
  return dir.WriteFileAtomic(cert_name, cert_pem, 0644);
}

absl::StatusOr<Identity> LoadIdentity(const internal::SafeDir& dir,
                                      absl::string_view cert_name,
                                      absl::string_view key_name) {
  absl::StatusOr<std::string> key_pem =
      dir.ReadPrivateFile(key_name, kMaxPemFileSize);
  if (!key_pem.ok()) return key_pem.status();
  absl::StatusOr<std::string> cert_pem =
      dir.ReadFile(cert_name, kMaxPemFileSize);
  if (!cert_pem.ok()) return cert_pem.status();
  absl::StatusOr<Certificate> cert =
      Certificate::ParsePem(*cert_pem, dir.PathOf(cert_name));
  if (!cert.ok()) return cert.status();
  absl::StatusOr<bssl::UniquePtr<EVP_PKEY>> key =
      ParsePrivateKeyPem(*key_pem, dir.PathOf(key_name));
  if (!key.ok()) return key.status();
  if (!KeyMatchesCertificate(key->get(), *cert)) {
    return Error(
        absl::StatusCode::kFailedPrecondition, TL_E_CERT_INVALID,
        absl::StrCat("private key ", dir.PathOf(key_name),
                     " does not belong to certificate ", dir.PathOf(cert_name),
                     "; ", kRecreateIdentityFix));
  }
  return Identity{*std::move(key), *std::move(cert)};
}

}  // namespace trustlink::ntl
