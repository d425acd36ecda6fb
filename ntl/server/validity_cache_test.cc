#include "ntl/server/validity_cache.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ntl/identity.h"
#include "ntl/names.h"

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

}  // namespace
}  // namespace trustlink::ntl::server
