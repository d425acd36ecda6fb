#include "ntl/client/pin.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <fstream>
#include <sstream>

#include "gtest/gtest.h"
#include "ntl/status.h"

namespace trustlink::ntl::client {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

TEST(PinTest, FingerprintIsUpperCaseColonHex) {
  const std::string fp = Sha256Fingerprint("abc");
  EXPECT_EQ(fp.substr(0, 8), "BA:78:16");
  EXPECT_EQ(fp.size(), 32u * 3 - 1);
}

TEST(PinTest, CapRefusalAlertSaysTheApplianceIsFull) {
  // The alert as BoringSSL queues it when the server sends user_canceled.
  OPENSSL_PUT_ERROR(SSL, SSL_R_TLSV1_ALERT_USER_CANCELLED);
  absl::Status s = TlsFailure("hsm1", SSL_ERROR_SSL, 0, false);
  EXPECT_EQ(ToTlStatus(s), TL_E_RESOURCE_EXHAUSTED);
  EXPECT_NE(s.message().find("user_canceled"), absl::string_view::npos);
  EXPECT_EQ(s.message().find("closed during the TLS handshake"),
            absl::string_view::npos);
}

TEST(PinTest, PemToDerRefusesGarbage) {
  absl::StatusOr<std::string> der =
      CertPemToDer("not a cert", "cert/server/hsm1Cert.pem");
  ASSERT_FALSE(der.ok());
  EXPECT_EQ(ToTlStatus(der.status()), TL_E_CERT_INVALID);
  EXPECT_NE(der.status().message().find("hsm1Cert.pem"),
            absl::string_view::npos);
}

TEST(PinTest, MismatchNamesBothFingerprints) {
  absl::StatusOr<std::string> a =
      CertPemToDer(Slurp("testdata/tls/server_ed25519.cert.pem"), "a");
  absl::StatusOr<std::string> b =
      CertPemToDer(Slurp("testdata/tls/server_p256.cert.pem"), "b");
  ASSERT_TRUE(a.ok() && b.ok());
  absl::Status s = PinMismatch("hsm1", *a, *b);
  EXPECT_EQ(ToTlStatus(s), TL_E_CERT_PIN_MISMATCH);
  EXPECT_NE(s.message().find(Sha256Fingerprint(*a)), absl::string_view::npos);
  EXPECT_NE(s.message().find(Sha256Fingerprint(*b)), absl::string_view::npos);
  EXPECT_NE(s.message().find("tl_client_root_add_server"),
            absl::string_view::npos);
}

}  // namespace
}  // namespace trustlink::ntl::client
