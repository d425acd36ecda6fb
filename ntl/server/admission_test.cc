#include "ntl/server/admission.h"

#include <openssl/ssl.h>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace trustlink::ntl::server {
namespace {

TEST(AdmissionTest, EachRule) {
  InMemoryDirectory dir;
  ClientRecord r;
  r.label = "web1";
  r.fingerprint = "AA:BB";
  r.allowed_ips = {"127.0.0.2", "::ffff:127.0.0.5"};
  dir.Put(r);
  auto snap = dir.Snapshot();
  Admission a = Admit(*snap, "CC:DD", "127.0.0.2");
  EXPECT_FALSE(a.admitted);
  EXPECT_EQ(a.code, TL_E_NOT_REGISTERED);
  EXPECT_EQ(a.alert, SSL_AD_CERTIFICATE_UNKNOWN);
  a = Admit(*snap, "AA:BB", "127.0.0.3");
  EXPECT_FALSE(a.admitted);
  EXPECT_EQ(a.code, TL_E_IP_MISMATCH);
  EXPECT_EQ(a.alert, SSL_AD_ACCESS_DENIED);
  EXPECT_TRUE(
      absl::StrContains(a.message, "'web1' is registered for 127.0.0.2"));
  EXPECT_TRUE(absl::StrContains(a.message, "connected from 127.0.0.3"));
  EXPECT_TRUE(Admit(*snap, "AA:BB", "127.0.0.2").admitted);
  EXPECT_TRUE(Admit(*snap, "AA:BB", "127.0.0.5").admitted);
  dir.SetIpCheck(false);
  EXPECT_TRUE(Admit(*dir.Snapshot(), "AA:BB", "127.0.0.3").admitted);
}

TEST(AdmissionTest, CanonicalIp) {
  EXPECT_EQ(CanonicalIp("::ffff:10.1.2.3"), "10.1.2.3");
  EXPECT_EQ(CanonicalIp("2018:1:0:0:0:0:29ff:fe2e"), "2018:1::29ff:fe2e");
  EXPECT_EQ(CanonicalIp("host.example"), "");
}

}  // namespace
}  // namespace trustlink::ntl::server
