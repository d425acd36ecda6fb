#include "ntl/identity.h"

#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ntl/internal/safe_dir.h"
#include "ntl/status.h"

namespace trustlink::ntl {
namespace {

using internal::SafeDir;

SafeDir TestDir(const std::string& leaf) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  return *SafeDir::Open(
      absl::StrCat(tmp ? tmp : "/tmp", "/identity_test_", leaf, getpid()),
      true);
}

// VerifiesAsOwnAnchor checks the certificate with BoringSSL's X.509 verifier,
// trusting only itself: what a peer that loads it into its trust store does.
bool VerifiesAsOwnAnchor(const Certificate& cert, int purpose) {
  bssl::UniquePtr<X509_STORE> store(X509_STORE_new());
  X509_STORE_add_cert(store.get(), cert.get());
  bssl::UniquePtr<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
  X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr);
  X509_STORE_CTX_set_purpose(ctx.get(), purpose);
  bool ok = X509_verify_cert(ctx.get()) == 1;
  if (!ok) {
    ADD_FAILURE() << X509_verify_cert_error_string(
        X509_STORE_CTX_get_error(ctx.get()));
  }
  return ok;
}

class IdentityAllKeysTest : public testing::TestWithParam<KeyType> {};

TEST_P(IdentityAllKeysTest, CreatesAVerifiableSelfSignedCertificate) {
  IdentityOptions options;
  options.key_type = GetParam();
  options.for_server = true;
  absl::StatusOr<Identity> id =
      CreateIdentity(*CanonicalizeNameWithHost("hsm1", ""), options);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_TRUE(KeyMatchesCertificate(id->key.get(), id->cert));
  EXPECT_TRUE(VerifiesAsOwnAnchor(id->cert, X509_PURPOSE_SSL_CLIENT));
  EXPECT_TRUE(VerifiesAsOwnAnchor(id->cert, X509_PURPOSE_SSL_SERVER));
  std::string pem = *PrivateKeyToPem(id->key.get());
  EXPECT_TRUE(absl::StartsWith(pem, "-----BEGIN PRIVATE KEY-----")) << pem;
  absl::StatusOr<bssl::UniquePtr<EVP_PKEY>> back = ParsePrivateKeyPem(pem, "k");
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(KeyMatchesCertificate(back->get(), id->cert));
}

INSTANTIATE_TEST_SUITE_P(AllKeyTypes, IdentityAllKeysTest,
                         testing::Values(KeyType::kEd25519, KeyType::kEcdsaP256,
                                         KeyType::kEcdsaP384, KeyType::kRsa2048,
                                         KeyType::kRsa3072, KeyType::kRsa4096));

TEST(IdentityTest, CertificateProfile) {
  absl::StatusOr<Identity> id =
      CreateIdentity(*CanonicalizeNameWithHost("web1", ""), IdentityOptions());
  ASSERT_TRUE(id.ok());
  X509* x = id->cert.get();
  EXPECT_EQ(X509_get_version(x), X509_VERSION_3);
  EXPECT_EQ(X509_get_key_usage(x),
            static_cast<uint32_t>(KU_DIGITAL_SIGNATURE | KU_KEY_CERT_SIGN));
  EXPECT_EQ(X509_get_extended_key_usage(x),
            static_cast<uint32_t>(XKU_SSL_CLIENT));
  // CA:TRUE so BoringSSL accepts it as its own trust anchor (see identity.h).
  EXPECT_NE(X509_check_ca(x), 0);
  // Two certificates for one name never share a serial.
  absl::StatusOr<Identity> id2 =
      CreateIdentity(*CanonicalizeNameWithHost("web1", ""), IdentityOptions());
  EXPECT_NE(ASN1_INTEGER_cmp(X509_get_serialNumber(x),
                             X509_get_serialNumber(id2->cert.get())),
            0);
  EXPECT_EQ(ASN1_STRING_type(X509_get_serialNumber(x)),
            V_ASN1_INTEGER);  // Positive.
  EXPECT_EQ(ASN1_STRING_length(X509_get_serialNumber(x)), 16);
}

// A CN has at most 64 characters (RFC 5280); a host name may have 253. A
// longer name is in the SAN in full and in the subject as domainComponents.
TEST(IdentityTest, HostNamesLongerThanACommonName) {
  const std::string longest =
      absl::StrCat(std::string(63, 'a'), ".", std::string(63, 'b'), ".",
                   std::string(63, 'c'), ".", std::string(61, 'd'));
  ASSERT_EQ(longest.size(), 253u);
  for (const std::string& name : {std::string(60, 'x') + ".com",
                                  std::string(58, 'x') + ".example", longest}) {
    SCOPED_TRACE(name.size());
    absl::StatusOr<Identity> id =
        CreateIdentity(*CanonicalizeNameWithHost(name, ""), IdentityOptions());
    ASSERT_TRUE(id.ok()) << id.status();
    absl::StatusOr<Certificate> parsed =
        Certificate::ParsePem(id->cert.Pem(), "long.pem");
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(parsed->Name(), name);
    EXPECT_EQ(parsed->CommonName(), name.size() <= 64 ? name : "");
    EXPECT_TRUE(parsed->MatchesName(*CanonicalizeNameWithHost(name, "")));
  }
}

TEST(IdentityTest, ValidityBounds) {
  CanonicalName name = *CanonicalizeNameWithHost("web1", "");
  IdentityOptions options;
  options.validity_days = 0;
  EXPECT_EQ(ToTlStatus(CreateIdentity(name, options).status()),
            TL_E_INVALID_ARGUMENT);
  options.validity_days = kMaxValidityDays + 1;
  absl::Status too_long = CreateIdentity(name, options).status();
  EXPECT_EQ(ToTlStatus(too_long), TL_E_INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(too_long.message(), "20 years")) << too_long;
  options.validity_days = kMaxValidityDays;
  absl::StatusOr<Identity> id = CreateIdentity(name, options);
  ASSERT_TRUE(id.ok());
  EXPECT_GT(id->cert.NotAfter(), absl::Now() + absl::Hours(24 * 365 * 20 - 48));
}

TEST(IdentityTest, ParseKeyType) {
  EXPECT_EQ(*ParseKeyType("ED25519"), KeyType::kEd25519);
  EXPECT_EQ(*ParseKeyType("p-256"), KeyType::kEcdsaP256);
  EXPECT_EQ(*ParseKeyType("secp384r1"), KeyType::kEcdsaP384);
  EXPECT_EQ(*ParseKeyType("rsa-3072"), KeyType::kRsa3072);
  EXPECT_EQ(*ParseKeyType("default"), kDefaultKeyType);
  for (KeyType t : {KeyType::kEd25519, KeyType::kEcdsaP256, KeyType::kEcdsaP384,
                    KeyType::kRsa2048, KeyType::kRsa3072, KeyType::kRsa4096}) {
    EXPECT_EQ(*ParseKeyType(KeyTypeName(t)), t);
  }
  absl::Status bad = ParseKeyType("dsa").status();
  EXPECT_EQ(ToTlStatus(bad), TL_E_INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(bad.message(), "ed25519")) << bad;
}

TEST(IdentityTest, WriteAndLoad) {
  SafeDir dir = TestDir("write");
  CanonicalName name = *CanonicalizeNameWithHost("web1", "");
  absl::StatusOr<Identity> id = CreateIdentity(name, IdentityOptions());
  ASSERT_TRUE(WriteIdentity(dir, "web1.pem", "web1Key.pem", *id, false).ok());
  struct stat st;
  ASSERT_EQ(fstatat(dir.fd(), "web1Key.pem", &st, 0), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  absl::StatusOr<Identity> loaded =
      LoadIdentity(dir, "web1.pem", "web1Key.pem");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->cert.Der(), id->cert.Der());

  // Never overwritten without force, and nothing changes.
  absl::StatusOr<Identity> other = CreateIdentity(name, IdentityOptions());
  absl::Status again =
      WriteIdentity(dir, "web1.pem", "web1Key.pem", *other, false);
  EXPECT_EQ(ToTlStatus(again), TL_E_ALREADY_EXISTS);
  EXPECT_TRUE(absl::StrContains(again.message(), "Pass force")) << again;
  EXPECT_EQ(LoadIdentity(dir, "web1.pem", "web1Key.pem")->cert.Der(),
            id->cert.Der());

  ASSERT_TRUE(WriteIdentity(dir, "web1.pem", "web1Key.pem", *other, true).ok());
  EXPECT_EQ(LoadIdentity(dir, "web1.pem", "web1Key.pem")->cert.Der(),
            other->cert.Der());
  ASSERT_EQ(fstatat(dir.fd(), "web1Key.pem", &st, 0), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(IdentityTest, LoadRefusesOpenKeyAndMismatch) {
  SafeDir dir = TestDir("refuse");
  CanonicalName name = *CanonicalizeNameWithHost("web1", "");
  absl::StatusOr<Identity> a = CreateIdentity(name, IdentityOptions());
  absl::StatusOr<Identity> b = CreateIdentity(name, IdentityOptions());
  ASSERT_TRUE(WriteIdentity(dir, "a.pem", "aKey.pem", *a, false).ok());
  ASSERT_EQ(fchmodat(dir.fd(), "aKey.pem", 0644, 0), 0);
  absl::Status open = LoadIdentity(dir, "a.pem", "aKey.pem").status();
  EXPECT_EQ(ToTlStatus(open), TL_E_KEY_PERMISSIONS);
  EXPECT_TRUE(absl::StrContains(open.message(), "chmod 600")) << open;
  ASSERT_EQ(fchmodat(dir.fd(), "aKey.pem", 0600, 0), 0);

  ASSERT_TRUE(dir.WriteFileAtomic("a.pem", b->cert.Pem(), 0644).ok());
  absl::Status mismatch = LoadIdentity(dir, "a.pem", "aKey.pem").status();
  EXPECT_EQ(ToTlStatus(mismatch), TL_E_CERT_INVALID);
  EXPECT_TRUE(absl::StrContains(mismatch.message(), "does not belong"))
      << mismatch;
}

}  // namespace
}  // namespace trustlink::ntl
