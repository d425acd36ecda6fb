#include "htl/ott.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "htl/crypto.h"
#include "ntl/status.h"

namespace trustlink::htl {
namespace {

using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1800000000);

TEST(OttTest, GeneratesA256BitTokenAndStoresOnlyItsHash) {
  const NewOtt a = GenerateOtt(kNow, absl::Seconds(300));
  const NewOtt b = GenerateOtt(kNow, absl::Seconds(300));
  EXPECT_EQ(a.token.size(), 32u);
  EXPECT_NE(a.token, b.token);
  EXPECT_EQ(a.record.hash, Sha256(a.token));
  EXPECT_EQ(a.record.expires_at, kNow + absl::Seconds(300));
  EXPECT_FALSE(a.record.consumed);
}

TEST(OttTest, TokensAreComparedInConstantTimeWithCryptoMemcmp) {
  // TokenMatches hashes the candidate and compares digests with CRYPTO_memcmp
  // (via ConstantTimeEquals), so timing reveals nothing about where a guess
  // differs.
  const NewOtt ott = GenerateOtt(kNow, absl::Seconds(300));
  EXPECT_TRUE(TokenMatches(ott.record, ott.token));
  std::string first = ott.token;
  first[0] ^= 1;
  std::string last = ott.token;
  last[31] ^= 1;
  EXPECT_FALSE(TokenMatches(ott.record, first));
  EXPECT_FALSE(TokenMatches(ott.record, last));
  EXPECT_FALSE(TokenMatches(ott.record, ""));
}

TEST(OttTest, TokenFileRoundTrips) {
  const NewOtt ott = GenerateOtt(kNow, absl::Seconds(300));
  const std::string file = FormatTokenFile(ott.token, "web1.example.com");
  EXPECT_THAT(file, HasSubstr("client web1.example.com"));
  absl::StatusOr<std::string> token = ParseTokenFile(file, "hsm1.ott");
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(*token, ott.token);
  // Windows line endings from a copy through another system are fine.
  std::string crlf = file;
  for (size_t p = crlf.find('\n'); p != std::string::npos;
       p = crlf.find('\n', p + 2)) {
    crlf.replace(p, 1, "\r\n");
  }
  EXPECT_TRUE(ParseTokenFile(crlf, "hsm1.ott").ok());
}

TEST(OttTest, MalformedTokenFilesAreRefusedWithOttInvalid) {
  for (const char* bad : {"", "hello\n", "trustlink-htl-ott v1\n",
                          "trustlink-htl-ott v1\ntoken 1234\n",
                          "trustlink-htl-ott v1\ntoken zz\n"}) {
    absl::StatusOr<std::string> t = ParseTokenFile(bad, "hsm1.ott");
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_EQ(ntl::ToTlStatus(t.status()), TL_E_OTT_INVALID);
    EXPECT_THAT(std::string(t.status().message()), HasSubstr("hsm1.ott"));
  }
  const std::string two = "trustlink-htl-ott v1\ntoken " +
                          std::string(64, 'a') + "\ntoken " +
                          std::string(64, 'b') + "\n";
  EXPECT_FALSE(ParseTokenFile(two, "x").ok());
}

TEST(OttTest, TokenFileNameRefusesPaths) {
  EXPECT_EQ(*TokenFileName("10.0.0.5"), "10.0.0.5.ott");
  EXPECT_EQ(*TokenFileName("web1.example.com"), "web1.example.com.ott");
  EXPECT_FALSE(TokenFileName("../etc/passwd").ok());
  EXPECT_FALSE(TokenFileName("..").ok());
  EXPECT_FALSE(TokenFileName("").ok());
  EXPECT_FALSE(TokenFileName("-rf").ok());
}

TEST(OttTest, ExpiredAndUsedAreRefusedWithDistinctCodes) {
  OttRecord r = GenerateOtt(kNow, absl::Seconds(300)).record;
  EXPECT_TRUE(CheckUnconsumedOtt(r, kNow + absl::Seconds(299), "web1").ok());
  absl::Status expired =
      CheckUnconsumedOtt(r, kNow + absl::Seconds(300), "web1");
  EXPECT_EQ(ntl::ToTlStatus(expired), TL_E_OTT_EXPIRED);
  EXPECT_THAT(std::string(expired.message()), HasSubstr("expired"));
  r.consumed = true;
  absl::Status used = CheckUnconsumedOtt(r, kNow, "web1");
  EXPECT_EQ(ntl::ToTlStatus(used), TL_E_OTT_USED);
  EXPECT_THAT(std::string(used.message()), HasSubstr("already used"));
}

}  // namespace
}  // namespace trustlink::htl
