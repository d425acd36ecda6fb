#include "ntl/names.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "ntl/status.h"

namespace trustlink::ntl {
namespace {

TEST(CanonicalizeNameTest, Hostnames) {
  absl::StatusOr<CanonicalName> n =
      CanonicalizeNameWithHost("Web1.Example.COM", "");
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(n->kind, NameKind::kHostname);
  EXPECT_EQ(n->canonical, "web1.example.com");
  EXPECT_EQ(n->as_typed, "Web1.Example.COM");
  EXPECT_TRUE(n->warnings.empty());
}

TEST(CanonicalizeNameTest, WarnsWhenOnlyCaseDiffersFromHostname) {
  absl::StatusOr<CanonicalName> n = CanonicalizeNameWithHost("WEB1", "web1");
  ASSERT_TRUE(n.ok());
  ASSERT_EQ(n->warnings.size(), 1u);
  EXPECT_TRUE(absl::StrContains(n->warnings[0], "only by case"))
      << n->warnings[0];
  EXPECT_TRUE(CanonicalizeNameWithHost("web1", "web1")->warnings.empty());
}

TEST(CanonicalizeNameTest, IPv4) {
  absl::StatusOr<CanonicalName> n =
      CanonicalizeNameWithHost("192.168.10.1", "");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->kind, NameKind::kIPv4);
  EXPECT_EQ(n->canonical, "192.168.10.1");
}

TEST(CanonicalizeNameTest, IPv6Rfc5952) {
  struct Case {
    const char* in;
    const char* out;
  } cases[] = {
      {"2018:1:0:0:0:29ff:fe2e:b07f", "2018:1::29ff:fe2e:b07f"},
      {"2018:0001:0000:0000:0000:29FF:FE2E:B07F", "2018:1::29ff:fe2e:b07f"},
      {"2001:db8:0:1:1:1:1:1",
       "2001:db8:0:1:1:1:1:1"},  // One zero word is not compressed.
      {"2001:0:0:1:0:0:0:1", "2001:0:0:1::1"},  // The longest run wins.
      {"2001:db8:0:0:1:0:0:1",
       "2001:db8::1:0:0:1"},  // The first of equal runs wins.
      {"0:0:0:0:0:0:0:1", "::1"},
      {"::", "::"},
      {"::ffff:192.0.2.1", "::ffff:192.0.2.1"},
      {"[fe80::1]", "fe80::1"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<CanonicalName> n = CanonicalizeNameWithHost(c.in, "");
    ASSERT_TRUE(n.ok()) << c.in << ": " << n.status();
    EXPECT_EQ(n->kind, NameKind::kIPv6);
    EXPECT_EQ(n->canonical, c.out) << c.in;
  }
  absl::StatusOr<CanonicalName> typed =
      CanonicalizeNameWithHost("2018:1:0:0:0:29ff:fe2e:b07f", "");
  ASSERT_EQ(typed->warnings.size(), 1u);
  EXPECT_TRUE(absl::StrContains(typed->warnings[0], "2018:1::29ff:fe2e:b07f"));
  EXPECT_TRUE(
      CanonicalizeNameWithHost("2018:1::29ff:fe2e:b07f", "")->warnings.empty());
}

TEST(CanonicalizeNameTest, RefusesBadNames) {
  for (const char* bad :
       {"", "../x", "/etc/passwd", "a b", "host_name", "-host", "host-", "a..b",
        "host.", "1.2.3", "256.1.1.1", "2001:db8::g", "a:b", "x/y", "é"}) {
    absl::StatusOr<CanonicalName> n = CanonicalizeNameWithHost(bad, "");
    EXPECT_EQ(ToTlStatus(n.status()), TL_E_NAME_INVALID) << bad;
  }
  EXPECT_FALSE(
      CanonicalizeNameWithHost(std::string(64, 'a') + ".com", "").ok());
}

TEST(SameNameTest, ComparesAsTheStandardsSay) {
  EXPECT_TRUE(SameName("HSM1.example.com", "hsm1.EXAMPLE.com"));
  EXPECT_TRUE(
      SameName("2018:1::29ff:fe2e:b07f", "2018:0001:0:0:0:29ff:fe2e:b07f"));
  EXPECT_FALSE(SameName("hsm1", "hsm2"));
  EXPECT_FALSE(SameName("10.0.0.1", "10.0.0.2"));
  EXPECT_FALSE(SameName("../x", "../x"));
}

}  // namespace
}  // namespace trustlink::ntl
