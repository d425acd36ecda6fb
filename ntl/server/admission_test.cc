#include "ntl/server/admission.h"

#include <openssl/ssl.h>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "ntl/identity.h"
#include "ntl/names.h"

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

TEST(AdmissionTest, HostnameClientIsCheckedAgainstTheLookupAnswer) {
  InMemoryDirectory dir;
  ClientRecord r;
  r.label = "web1";
  r.fingerprint = "AA:BB";
  r.resolve_hostname = "web1.example";
  dir.Put(r);
  auto snap = dir.Snapshot();
  ASSERT_TRUE(NeedsResolution(*snap, r));

  Admission a = Admit(*snap, "AA:BB", "127.0.0.2");  // no answer known
  EXPECT_FALSE(a.admitted);
  EXPECT_EQ(a.rule, "dns");
  EXPECT_EQ(a.alert, SSL_AD_ACCESS_DENIED);

  Resolution failed{absl::DeadlineExceededError("no answer within 5s"), {}};
  a = Admit(*snap, "AA:BB", "127.0.0.2", &failed);
  EXPECT_FALSE(a.admitted);
  EXPECT_EQ(a.code, TL_E_IP_MISMATCH);
  EXPECT_TRUE(absl::StrContains(a.message, "DNS lookup of 'web1.example'"))
      << a.message;
  EXPECT_TRUE(absl::StrContains(a.message, "no answer within 5s"));
  EXPECT_TRUE(absl::StrContains(a.message,
                                "tl_registry_map_host_ip) for client 'web1'"));

  Resolution elsewhere{absl::OkStatus(), {"10.0.0.1"}};
  a = Admit(*snap, "AA:BB", "127.0.0.2", &elsewhere);
  EXPECT_FALSE(a.admitted);
  EXPECT_EQ(a.rule, "ipcheck");
  EXPECT_TRUE(absl::StrContains(
      a.message, "hostname 'web1.example' (resolves to 10.0.0.1)"))
      << a.message;

  Resolution here{absl::OkStatus(), {"10.0.0.1", "::ffff:127.0.0.2"}};
  EXPECT_TRUE(Admit(*snap, "AA:BB", "127.0.0.2", &here).admitted);

  // Mapped addresses win: the answer is not consulted.
  r.allowed_ips = {"127.0.0.3"};
  dir.Put(r);
  snap = dir.Snapshot();
  EXPECT_FALSE(NeedsResolution(*snap, r));
  EXPECT_TRUE(Admit(*snap, "AA:BB", "127.0.0.3").admitted);
  EXPECT_FALSE(Admit(*snap, "AA:BB", "127.0.0.2", &here).admitted);

  // ipcheck off: no lookup needed, any source.
  r.allowed_ips.clear();
  dir.Put(r);
  dir.SetIpCheck(false);
  snap = dir.Snapshot();
  EXPECT_FALSE(NeedsResolution(*snap, r));
  EXPECT_TRUE(Admit(*snap, "AA:BB", "127.0.0.9").admitted);
}

// A client certificate made `age` ago, valid for one day.
Certificate CertificateMadeAgo(absl::Duration age) {
  auto name = CanonicalizeName("127.0.0.1");
  EXPECT_TRUE(name.ok()) << name.status();
  IdentityOptions o;
  o.validity_days = 1;
  o.now = absl::Now() - age;
  auto id = CreateIdentity(*name, o);
  EXPECT_TRUE(id.ok()) << id.status();
  return id->cert;
}

TEST(AdmissionTest, CertificateMustBeWithinItsValidityPeriod) {
  const Certificate cert = CertificateMadeAgo(absl::Hours(1));
  InMemoryDirectory dir;
  ClientRecord r;
  r.label = "web1";
  r.fingerprint = cert.Sha256Fingerprint();
  r.allowed_ips = {"127.0.0.1"};
  dir.Put(r);
  auto snap = dir.Snapshot();
  const std::string der = cert.Der();
  // Without a cache, and with one (the loops'): the cached dates are still
  // compared with the clock of each handshake.
  ValidityCache loop_cache;
  for (ValidityCache* cache :
       {static_cast<ValidityCache*>(nullptr), &loop_cache, &loop_cache}) {
    SCOPED_TRACE(cache == nullptr ? "no cache" : "cache");
    EXPECT_TRUE(AdmitCertificate(*snap, r.fingerprint, der, "127.0.0.1",
                                 absl::Now(), nullptr, cache)
                    .admitted);

    Admission expired =
        AdmitCertificate(*snap, r.fingerprint, der, "127.0.0.1",
                         cert.NotAfter() + absl::Seconds(1), nullptr, cache);
    EXPECT_FALSE(expired.admitted);
    EXPECT_EQ(expired.code, TL_E_CERT_EXPIRED);
    EXPECT_EQ(expired.alert, SSL_AD_CERTIFICATE_EXPIRED);
    EXPECT_EQ(expired.rule, "validity");
    EXPECT_TRUE(
        absl::StrContains(expired.message, "'web1' certificate expired"))
        << expired.message;
    EXPECT_TRUE(absl::StrContains(
        expired.message, "tl_registry_replace_certificate, client web1"))
        << expired.message;

    Admission early =
        AdmitCertificate(*snap, r.fingerprint, der, "127.0.0.1",
                         cert.NotBefore() - absl::Seconds(1), nullptr, cache);
    EXPECT_FALSE(early.admitted);
    EXPECT_EQ(early.code, TL_E_CERT_INVALID);
    EXPECT_TRUE(absl::StrContains(early.message, "check the clocks"))
        << early.message;
  }
  // A stranger's certificate is refused before it is parsed: it never fills
  // the cache.
  EXPECT_EQ(AdmitCertificate(*snap, "CC:DD", der, "127.0.0.1", absl::Now(),
                             nullptr, &loop_cache)
                .code,
            TL_E_NOT_REGISTERED);
  EXPECT_EQ(loop_cache.size(), 1u);
}

TEST(AdmissionTest, RegistrationIsCheckedBeforeTheCertificateIsParsed) {
  InMemoryDirectory dir;
  ClientRecord r;
  r.label = "web1";
  r.fingerprint = "AA:BB";
  r.allowed_ips = {"127.0.0.1"};
  dir.Put(r);
  auto snap = dir.Snapshot();
  Admission unknown =
      AdmitCertificate(*snap, "CC:DD", "junk", "127.0.0.1", absl::Now());
  EXPECT_EQ(unknown.code, TL_E_NOT_REGISTERED);
  Admission junk =
      AdmitCertificate(*snap, "AA:BB", "junk", "127.0.0.1", absl::Now());
  EXPECT_FALSE(junk.admitted);
  EXPECT_EQ(junk.code, TL_E_CERT_INVALID);
  EXPECT_EQ(junk.alert, SSL_AD_BAD_CERTIFICATE);
}

TEST(AdmissionTest, CanonicalIp) {
  EXPECT_EQ(CanonicalIp("::ffff:10.1.2.3"), "10.1.2.3");
  EXPECT_EQ(CanonicalIp("2018:1:0:0:0:0:29ff:fe2e"), "2018:1::29ff:fe2e");
  EXPECT_EQ(CanonicalIp("host.example"), "");
}

}  // namespace
}  // namespace trustlink::ntl::server
