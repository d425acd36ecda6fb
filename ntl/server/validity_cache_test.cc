#include "ntl/server/validity_cache.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "ntl/identity.h"
#include "ntl/names.h"
#include "ntl/server/admission.h"

namespace trustlink::ntl::server {
namespace {

Certificate MakeCertificate() {
  auto name = CanonicalizeName("127.0.0.1");
  EXPECT_TRUE(name.ok()) << name.status();
  IdentityOptions o;
  o.validity_days = 1;
  auto id = CreateIdentity(*name, o);
  EXPECT_TRUE(id.ok()) << id.status();
  return id->cert;
}

TEST(ValidityCacheTest, ParsesACertificateOnce) {
  const Certificate cert = MakeCertificate();
  ValidityCache cache;
  absl::StatusOr<Validity> v = cache.Get(cert.Sha256Fingerprint(), cert.Der());
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->not_before, cert.NotBefore());
  EXPECT_EQ(v->not_after, cert.NotAfter());
  // The fingerprint names the DER: the second look-up does not parse (the
  // bytes given here would not).
  v = cache.Get(cert.Sha256Fingerprint(), "junk");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->not_after, cert.NotAfter());
  EXPECT_EQ(cache.size(), 1u);
}

TEST(ValidityCacheTest, AnUnparsableCertificateIsNotCached) {
  ValidityCache cache;
  EXPECT_FALSE(cache.Get("AA:BB", "junk").ok());
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_FALSE(cache.Get("AA:BB", "junk").ok());
}

TEST(ValidityCacheTest, StaysBounded) {
  const Certificate cert = MakeCertificate();
  const std::string der = cert.Der();
  ValidityCache cache;
  for (size_t i = 0; i <= ValidityCache::kMaxEntries; ++i) {
    ASSERT_TRUE(cache.Get(absl::StrCat("fp", i), der).ok());
  }
  EXPECT_LE(cache.size(), ValidityCache::kMaxEntries);
  EXPECT_GE(cache.size(), 1u);
}

TEST(ValidityCacheTest, AdmissionStillChecksTheDatesOfACachedCertificate) {
  const Certificate cert = MakeCertificate();
  InMemoryDirectory dir;
  ClientRecord r;
  r.label = "web1";
  r.fingerprint = cert.Sha256Fingerprint();
  r.allowed_ips = {"127.0.0.1"};
  dir.Put(r);
  auto snap = dir.Snapshot();
  ValidityCache cache;
  EXPECT_TRUE(AdmitCertificate(*snap, r.fingerprint, cert.Der(), "127.0.0.1",
                               absl::Now(), nullptr, &cache)
                  .admitted);
  Admission expired =
      AdmitCertificate(*snap, r.fingerprint, cert.Der(), "127.0.0.1",
                       cert.NotAfter() + absl::Seconds(1), nullptr, &cache);
  EXPECT_FALSE(expired.admitted);
  EXPECT_EQ(expired.code, TL_E_CERT_EXPIRED);
  // A stranger's certificate is refused before it is parsed: it never fills
  // the cache.
  EXPECT_EQ(AdmitCertificate(*snap, "CC:DD", cert.Der(), "127.0.0.1",
                             absl::Now(), nullptr, &cache)
                .code,
            TL_E_NOT_REGISTERED);
  EXPECT_EQ(cache.size(), 1u);
}

}  // namespace
}  // namespace trustlink::ntl::server
