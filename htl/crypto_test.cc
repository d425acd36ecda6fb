#include "htl/crypto.h"

#include "gtest/gtest.h"
#include "htl/messages.h"

namespace trustlink::htl {
namespace {

TEST(CryptoTest, HmacSha256MatchesRfc4231Case2) {
  EXPECT_EQ(HexEncode(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(CryptoTest, RandomBytesDiffer) {
  EXPECT_EQ(RandomBytes(32).size(), 32u);
  EXPECT_NE(RandomBytes(32), RandomBytes(32));
}

TEST(CryptoTest, ConstantTimeEqualsUsesCryptoMemcmpAndChecksLength) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
}

TEST(CryptoTest, HexRoundTripsAndRefusesJunk) {
  EXPECT_EQ(*HexDecode(HexEncode(std::string("\x00\xff\x10", 3)), "x"),
            std::string("\x00\xff\x10", 3));
  EXPECT_FALSE(HexDecode("abc", "x").ok());
  EXPECT_FALSE(HexDecode("zz", "x").ok());
}

TEST(CryptoTest, ProofsDependOnPurposeGenerationAndExporter) {
  const std::string key = RandomBytes(kSecretLen);
  const std::string e1 = RandomBytes(kExporterLen);
  const std::string e2 = RandomBytes(kExporterLen);
  const std::string p = ComputeProof(ProofPurpose::kHeartbeat, key, 5, e1);
  EXPECT_EQ(p, ComputeProof(ProofPurpose::kHeartbeat, key, 5, e1));
  EXPECT_NE(p, ComputeProof(ProofPurpose::kLinkProof, key, 5, e1));
  EXPECT_NE(p, ComputeProof(ProofPurpose::kHeartbeat, key, 6, e1));
  EXPECT_NE(p, ComputeProof(ProofPurpose::kHeartbeat, key, 5, e2));
}

TEST(MessagesTest, RoundTripAndRefuseTruncation) {
  Grant g;
  g.generation = 7;
  g.secret = RandomBytes(kSecretLen);
  g.heartbeat_interval_ms = 10000;
  const std::string enc = EncodeGrant(g);
  absl::StatusOr<Grant> d = DecodeGrant(enc);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->generation, 7u);
  EXPECT_EQ(d->secret, g.secret);
  EXPECT_EQ(d->heartbeat_interval_ms, 10000u);
  for (size_t n = 0; n < enc.size(); ++n) {
    EXPECT_FALSE(DecodeGrant(enc.substr(0, n)).ok()) << n;
  }
  EXPECT_FALSE(DecodeGrant(enc + "x").ok());

  EstablishRequest e{RandomBytes(kTokenLen), RandomBytes(kMacLen)};
  absl::StatusOr<EstablishRequest> de =
      DecodeEstablishRequest(EncodeEstablishRequest(e));
  ASSERT_TRUE(de.ok());
  EXPECT_EQ(de->token, e.token);
  EXPECT_FALSE(
      DecodeEstablishRequest(EncodeEstablishRequest({"short", e.binding}))
          .ok());

  HeartbeatRequest h{3, RandomBytes(kMacLen)};
  absl::StatusOr<HeartbeatRequest> dh =
      DecodeHeartbeatRequest(EncodeHeartbeatRequest(h));
  ASSERT_TRUE(dh.ok());
  EXPECT_EQ(dh->generation, 3u);
  LinkProof p{4, RandomBytes(kMacLen)};
  absl::StatusOr<LinkProof> dp = DecodeLinkProof(EncodeLinkProof(p));
  ASSERT_TRUE(dp.ok());
  EXPECT_EQ(dp->mac, p.mac);
}

}  // namespace
}  // namespace trustlink::htl
