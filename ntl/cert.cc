#include "ntl/cert.h"

#include <openssl/bio.h>
#include <openssl/digest.h>
#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/mem.h>
#include <openssl/nid.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ntl/status.h"

namespace trustlink::ntl {
namespace {

absl::Status CertError(absl::string_view what, absl::string_view why) {
  return Error(absl::StatusCode::kInvalidArgument, TL_E_CERT_INVALID,
               absl::StrCat(what, " ", why));
}

// PemBlock is one "-----BEGIN label-----" ... "-----END label-----" span of the
// input.
struct PemBlock {
  std::string label;
  absl::string_view text;  // The whole block, markers included.
  bool complete = false;
};

std::vector<PemBlock> ScanPem(absl::string_view pem) {
  static constexpr absl::string_view kBegin = "-----BEGIN ";
  std::vector<PemBlock> blocks;
  size_t pos = 0;
  while ((pos = pem.find(kBegin, pos)) != absl::string_view::npos) {
    size_t label_start = pos + kBegin.size();
    size_t label_end = pem.find("-----", label_start);
    PemBlock block;
    if (label_end == absl::string_view::npos) {
      block.text = pem.substr(pos);
      blocks.push_back(block);
      break;
    }
    block.label = std::string(pem.substr(label_start, label_end - label_start));
    std::string end_marker = absl::StrCat("-----END ", block.label, "-----");
    size_t end = pem.find(end_marker, label_end);
    if (end == absl::string_view::npos) {
      block.text = pem.substr(pos);
      blocks.push_back(block);
      break;
    }
    block.complete = true;
    block.text = pem.substr(pos, end + end_marker.size() - pos);
    blocks.push_back(block);
    pos = end + end_marker.size();
  }
  return blocks;
}

absl::StatusOr<Certificate> DecodeBlock(const PemBlock& block,
                                        absl::string_view what) {
  bssl::UniquePtr<BIO> bio(
      BIO_new_mem_buf(block.text.data(), block.text.size()));
  char* name = nullptr;
  char* header = nullptr;
  uint8_t* data = nullptr;
  long len = 0;
  if (!bio || PEM_read_bio(bio.get(), &name, &header, &data, &len) != 1) {
    ERR_clear_error();
    return CertError(
        what,
        "has a CERTIFICATE block whose base64 does not decode (the file "
        "is damaged or truncated); copy it again from the appliance");
  }
  std::string der(reinterpret_cast<const char*>(data),
                  static_cast<size_t>(len));
  OPENSSL_free(name);
  OPENSSL_free(header);
  OPENSSL_free(data);
  return Certificate::ParseDer(der, what);
}

bool IsKeyLabel(absl::string_view label) {
  return absl::StrContains(label, "PRIVATE KEY");
}

absl::Time Asn1TimeToAbsl(const ASN1_TIME* t) {
  bssl::UniquePtr<ASN1_TIME> epoch(ASN1_TIME_set(nullptr, 0));
  int days = 0, secs = 0;
  if (!epoch || t == nullptr || !ASN1_TIME_diff(&days, &secs, epoch.get(), t)) {
    return absl::InfinitePast();
  }
  return absl::FromUnixSeconds(static_cast<int64_t>(days) * 86400 + secs);
}

std::string Asn1StringToUtf8(const ASN1_STRING* s) {
  unsigned char* utf8 = nullptr;
  int len = ASN1_STRING_to_UTF8(&utf8, s);
  if (len < 0) return "";
  std::string out(reinterpret_cast<char*>(utf8), static_cast<size_t>(len));
  OPENSSL_free(utf8);
  return out;
}

}  // namespace

absl::StatusOr<Certificate> Certificate::ParseDer(absl::string_view der,
                                                  absl::string_view what) {
  const uint8_t* p = reinterpret_cast<const uint8_t*>(der.data());
  bssl::UniquePtr<X509> x509(
      d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!x509) {
    ERR_clear_error();
    return CertError(what,
                     "holds a CERTIFICATE block that is not a valid X.509 "
                     "certificate; copy the appliance's server.pem again");
  }
  if (p != reinterpret_cast<const uint8_t*>(der.data()) + der.size()) {
    return CertError(what,
                     "has trailing bytes after its certificate; copy it again");
  }
  return Certificate(std::move(x509));
}

absl::StatusOr<Certificate> Certificate::ParsePem(absl::string_view pem,
                                                  absl::string_view what) {
  std::vector<PemBlock> blocks = ScanPem(pem);
  if (blocks.empty()) {
    return CertError(
        what,
        "contains no PEM certificate (no '-----BEGIN CERTIFICATE-----' "
        "line); give the appliance's server.pem or a client .pem file");
  }
  int certs = 0;
  const PemBlock* cert_block = nullptr;
  for (const PemBlock& block : blocks) {
    if (!block.complete) {
      return CertError(
          what,
          "is truncated: a PEM block has no END line; copy the file "
          "again in full");
    }
    if (IsKeyLabel(block.label)) {
      return CertError(
          what,
          "contains a private key, not a certificate; give the "
          "certificate file (for example server.pem), and keep the key "
          "secret");
    }
    if (block.label == "CERTIFICATE") {
      ++certs;
      cert_block = &block;
    } else {
      return CertError(what,
                       absl::StrCat("contains a '", block.label,
                                    "' block; only a CERTIFICATE is accepted"));
    }
  }
  if (certs > 1) {
    return CertError(what, absl::StrCat("contains ", certs,
                                        " certificates; give a file "
                                        "with exactly one (the appliance's own "
                                        "certificate)"));
  }
  return DecodeBlock(*cert_block, what);
}

absl::StatusOr<std::vector<Certificate>> Certificate::ParsePemList(
    absl::string_view pem, absl::string_view what) {
  std::vector<Certificate> out;
  for (const PemBlock& block : ScanPem(pem)) {
    if (!block.complete)
      return CertError(what, "is truncated: a PEM block has no END line");
    if (block.label != "CERTIFICATE") {
      return CertError(what,
                       absl::StrCat("contains a '", block.label,
                                    "' block; only certificates belong here"));
    }
    absl::StatusOr<Certificate> cert = DecodeBlock(block, what);
    if (!cert.ok()) return cert.status();
    out.push_back(*std::move(cert));
  }
  return out;
}

Certificate Certificate::FromX509(X509* x509) {
  X509_up_ref(x509);
  return Certificate(bssl::UniquePtr<X509>(x509));
}

Certificate::Certificate(const Certificate& other) {
  if (other.x509_) {
    X509_up_ref(other.x509_.get());
    x509_.reset(other.x509_.get());
  }
}

Certificate& Certificate::operator=(const Certificate& other) {
  if (this != &other) {
    if (other.x509_) X509_up_ref(other.x509_.get());
    x509_.reset(other.x509_.get());
  }
  return *this;
}

std::string Certificate::Der() const {
  uint8_t* der = nullptr;
  int len = i2d_X509(x509_.get(), &der);
  if (len < 0) return "";
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

std::string Certificate::Pem() const {
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || !PEM_write_bio_X509(bio.get(), x509_.get())) return "";
  const uint8_t* data = nullptr;
  size_t len = 0;
  BIO_mem_contents(bio.get(), &data, &len);
  return std::string(reinterpret_cast<const char*>(data), len);
}

std::string Sha256FingerprintOfDer(absl::string_view der) {
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const uint8_t*>(der.data()), der.size(), digest);
  std::string out;
  char buf[4];
  for (size_t i = 0; i < sizeof(digest); ++i) {
    std::snprintf(buf, sizeof(buf), i == 0 ? "%02X" : ":%02X", digest[i]);
    out += buf;
  }
  return out;
}

std::string Certificate::Sha256Fingerprint() const {
  return Sha256FingerprintOfDer(Der());
}

absl::Time Certificate::NotBefore() const {
  return Asn1TimeToAbsl(X509_get0_notBefore(x509_.get()));
}

absl::Time Certificate::NotAfter() const {
  return Asn1TimeToAbsl(X509_get0_notAfter(x509_.get()));
}

std::string Certificate::CommonName() const {
  X509_NAME* subject = X509_get_subject_name(x509_.get());
  int index = -1, last = -1;
  while ((index = X509_NAME_get_index_by_NID(subject, NID_commonName, index)) >=
         0) {
    last = index;
  }
  if (last < 0) return "";
  return Asn1StringToUtf8(
      X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, last)));
}

namespace {

template <typename F>
void ForEachSan(X509* x509, F&& f) {
  bssl::UniquePtr<GENERAL_NAMES> names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(x509, NID_subject_alt_name, nullptr, nullptr)));
  if (!names) return;
  for (size_t i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    f(sk_GENERAL_NAME_value(names.get(), i));
  }
}

}  // namespace

std::vector<std::string> Certificate::DnsNames() const {
  std::vector<std::string> out;
  ForEachSan(x509_.get(), [&](const GENERAL_NAME* name) {
    if (name->type == GEN_DNS) {
      const ASN1_STRING* s = name->d.dNSName;
      out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                       static_cast<size_t>(ASN1_STRING_length(s)));
    }
  });
  return out;
}

std::vector<std::string> Certificate::IpAddresses() const {
  std::vector<std::string> out;
  ForEachSan(x509_.get(), [&](const GENERAL_NAME* name) {
    if (name->type != GEN_IPADD) return;
    const ASN1_STRING* s = name->d.iPAddress;
    const unsigned char* b = ASN1_STRING_get0_data(s);
    if (ASN1_STRING_length(s) == 4) {
      char buf[16];
      std::snprintf(buf, sizeof(buf), "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
      out.emplace_back(buf);
    } else if (ASN1_STRING_length(s) == 16) {
      out.push_back(FormatIPv6(b));
    }
  });
  return out;
}

std::string Certificate::Name() const {
  std::vector<std::string> dns = DnsNames();
  if (!dns.empty()) return dns[0];
  std::vector<std::string> ips = IpAddresses();
  if (!ips.empty()) return ips[0];
  return CommonName();
}

bool Certificate::MatchesName(const CanonicalName& name) const {
  std::vector<std::string> dns = DnsNames();
  std::vector<std::string> ips = IpAddresses();
  if (dns.empty() && ips.empty()) {
    absl::StatusOr<CanonicalName> cn =
        CanonicalizeNameWithHost(CommonName(), "");
    return cn.ok() && cn->kind == name.kind && cn->canonical == name.canonical;
  }
  if (name.kind == NameKind::kHostname) {
    for (const std::string& d : dns) {
      if (absl::EqualsIgnoreCase(d, name.canonical)) return true;
    }
    return false;
  }
  for (const std::string& ip : ips) {
    if (ip == name.canonical) return true;
  }
  return false;
}

std::string Certificate::KeyTypeDescription() const {
  bssl::UniquePtr<EVP_PKEY> owned(X509_get_pubkey(x509_.get()));
  EVP_PKEY* key = owned.get();
  if (key == nullptr) return "unknown";
  switch (EVP_PKEY_id(key)) {
    case EVP_PKEY_ED25519:
      return "Ed25519";
    case EVP_PKEY_RSA:
      return absl::StrCat("RSA ", EVP_PKEY_bits(key));
    case EVP_PKEY_EC: {
      const EC_KEY* ec = EVP_PKEY_get0_EC_KEY(key);
      int nid = EC_GROUP_get_curve_name(EC_KEY_get0_group(ec));
      if (nid == NID_X9_62_prime256v1) return "ECDSA P-256";
      if (nid == NID_secp384r1) return "ECDSA P-384";
      if (nid == NID_secp521r1) return "ECDSA P-521";
      return "ECDSA";
    }
    default:
      return "unknown";
  }
}

}  // namespace trustlink::ntl
