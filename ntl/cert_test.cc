#include "ntl/cert.h"

#include <openssl/x509.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ntl/identity.h"
#include "ntl/status.h"

namespace trustlink::ntl {
namespace {

Identity Make(absl::string_view name, KeyType type = KeyType::kEcdsaP256) {
  IdentityOptions options;
  options.key_type = type;
  absl::StatusOr<Identity> id =
      CreateIdentity(*CanonicalizeNameWithHost(name, ""), options);
  EXPECT_TRUE(id.ok()) << id.status();
  return *std::move(id);
}

void ExpectCertError(absl::string_view pem, absl::string_view word) {
  absl::StatusOr<Certificate> c = Certificate::ParsePem(pem, "file server.pem");
  EXPECT_EQ(ToTlStatus(c.status()), TL_E_CERT_INVALID) << c.status();
  EXPECT_TRUE(absl::StrContains(c.status().message(), word)) << c.status();
  EXPECT_TRUE(absl::StrContains(c.status().message(), "server.pem"))
      << c.status();
}

TEST(CertificateTest, ParsePemRoundTrip) {
  Identity id = Make("hsm1");
  std::string pem = id.cert.Pem();
  absl::StatusOr<Certificate> c =
      Certificate::ParsePem(absl::StrCat("junk\n", pem, "\n"), "x");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->Der(), id.cert.Der());
  EXPECT_EQ(c->Pem(), pem);
  EXPECT_EQ(c->CommonName(), "hsm1");
  EXPECT_EQ(c->Sha256Fingerprint(), Sha256FingerprintOfDer(c->Der()));
  EXPECT_EQ(c->Sha256Fingerprint().size(), 32u * 3 - 1);
  EXPECT_EQ(Certificate::ParseDer(c->Der(), "x")->Pem(), pem);
}

TEST(CertificateTest, ParsePemErrors) {
  Identity id = Make("hsm1");
  std::string pem = id.cert.Pem();
  ExpectCertError("", "no PEM certificate");
  ExpectCertError("hello", "no PEM certificate");
  ExpectCertError(pem.substr(0, pem.size() / 2), "truncated");
  ExpectCertError(absl::StrCat(pem, Make("hsm2").cert.Pem()), "2 certificates");
  ExpectCertError(*PrivateKeyToPem(id.key.get()), "private key");
  ExpectCertError(absl::StrCat(pem, *PrivateKeyToPem(id.key.get())),
                  "private key");
  std::string damaged = pem;
  damaged[40] = '!';
  ExpectCertError(damaged, "copy");
  ExpectCertError(
      "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
      "not a valid X.509");
}

TEST(CertificateTest, ParsePemList) {
  std::string bundle = absl::StrCat(Make("a").cert.Pem(), Make("b").cert.Pem());
  absl::StatusOr<std::vector<Certificate>> list =
      Certificate::ParsePemList(bundle, "CAFile");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[1].CommonName(), "b");
  EXPECT_TRUE(Certificate::ParsePemList("", "CAFile")->empty());
  EXPECT_FALSE(
      Certificate::ParsePemList(bundle.substr(0, bundle.size() - 10), "x")
          .ok());
}

TEST(CertificateTest, NamesAndMatching) {
  Identity host = Make("Web1.Example.com");
  EXPECT_EQ(host.cert.DnsNames(), std::vector<std::string>{"web1.example.com"});
  EXPECT_TRUE(host.cert.IpAddresses().empty());
  EXPECT_TRUE(
      host.cert.MatchesName(*CanonicalizeNameWithHost("WEB1.example.com", "")));
  EXPECT_FALSE(
      host.cert.MatchesName(*CanonicalizeNameWithHost("web2.example.com", "")));

  Identity v6 = Make("2018:1:0:0:0:29ff:fe2e:b07f");
  EXPECT_EQ(v6.cert.IpAddresses(),
            std::vector<std::string>{"2018:1::29ff:fe2e:b07f"});
  EXPECT_TRUE(v6.cert.DnsNames().empty());
  EXPECT_TRUE(v6.cert.MatchesName(
      *CanonicalizeNameWithHost("2018:1::29ff:fe2e:b07f", "")));

  Identity v4 = Make("10.1.2.3");
  EXPECT_EQ(v4.cert.IpAddresses(), std::vector<std::string>{"10.1.2.3"});
  EXPECT_TRUE(v4.cert.MatchesName(*CanonicalizeNameWithHost("10.1.2.3", "")));
  EXPECT_FALSE(v4.cert.MatchesName(*CanonicalizeNameWithHost("10.1.2.4", "")));
}

TEST(CertificateTest, ValidityAndKeyType) {
  absl::Time now = absl::Now();
  Identity id = Make("hsm1", KeyType::kEd25519);
  EXPECT_LT(id.cert.NotBefore(), now);
  EXPECT_GT(id.cert.NotAfter(), now + absl::Hours(24 * 729));
  EXPECT_LT(id.cert.NotAfter(), now + absl::Hours(24 * 731));
  EXPECT_FALSE(id.cert.IsExpired(now));
  EXPECT_TRUE(id.cert.IsExpired(now + absl::Hours(24 * 731)));
  EXPECT_EQ(id.cert.KeyTypeDescription(), "Ed25519");
  EXPECT_EQ(Make("x", KeyType::kEcdsaP384).cert.KeyTypeDescription(),
            "ECDSA P-384");
}

TEST(CertificateTest, CopiesShareTheCertificate) {
  Identity id = Make("hsm1");
  Certificate copy = id.cert;
  EXPECT_EQ(copy.get(), id.cert.get());
  Certificate assigned = Make("other").cert;
  assigned = copy;
  EXPECT_EQ(assigned.Der(), id.cert.Der());
}

}  // namespace
}  // namespace trustlink::ntl
