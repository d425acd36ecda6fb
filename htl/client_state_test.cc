#include "htl/client_state.h"

#include "gtest/gtest.h"
#include "htl/crypto.h"
#include "ntl/status.h"

namespace trustlink::htl {
namespace {

TEST(ClientStateTest, RoundTripsEveryField) {
  ClientState s;
  s.client = "web 1 / with spaces";
  s.chain = Chain::kAlive;
  s.next_generation = 9;
  s.has_current = true;
  s.current = {8, RandomBytes(kSecretLen), "[2001:db8::1]:4000",
               absl::FromUnixSeconds(5)};
  s.has_previous = true;
  s.previous = {7, RandomBytes(kSecretLen), "192.0.2.1:1",
                absl::InfinitePast()};
  s.retired.push_back(
      {3, RandomBytes(kSecretLen), "", absl::FromUnixSeconds(1)});
  s.confirmed = true;
  s.has_ott = true;
  s.ott.hash = RandomBytes(32);
  s.ott.expires_at = absl::FromUnixSeconds(100);
  s.ott.consumed = true;
  s.ott_expiry_override_s = 30;
  s.link_up = true;
  s.link_boot = "boot";
  s.last_seen = absl::FromUnixNanos(123456789);
  absl::StatusOr<ClientState> p =
      ParseClientState(SerializeClientState(s), "f");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->client, s.client);
  EXPECT_EQ(p->chain, Chain::kAlive);
  EXPECT_EQ(p->next_generation, 9u);
  EXPECT_EQ(p->current.secret, s.current.secret);
  EXPECT_EQ(p->current.source, s.current.source);
  EXPECT_EQ(p->previous.generation, 7u);
  ASSERT_EQ(p->retired.size(), 1u);
  EXPECT_EQ(p->ott.hash, s.ott.hash);
  EXPECT_TRUE(p->ott.consumed);
  EXPECT_EQ(p->ott_expiry_override_s, 30);
  EXPECT_EQ(p->last_seen, s.last_seen);
  EXPECT_EQ(SerializeClientState(*p), SerializeClientState(s));
}

TEST(ClientStateTest, TruncatedOrCorruptFilesAreDataLoss) {
  ClientState s;
  s.client = "web1";
  const std::string text = SerializeClientState(s);
  absl::StatusOr<ClientState> p =
      ParseClientState(text.substr(0, text.size() - 5), "f");
  EXPECT_EQ(ntl::ToTlStatus(p.status()), TL_E_DATA_LOSS);
  EXPECT_FALSE(ParseClientState("junk\nend\n", "f").ok());
}

TEST(ClientStateTest, FileNameIsFixedAndSafeForAnyLabel) {
  EXPECT_EQ(ClientFileName("../../etc/passwd").find('/'), std::string::npos);
  EXPECT_EQ(ClientFileName("a").size(),
            ClientFileName("a much longer label").size());
  EXPECT_NE(ClientFileName("a"), ClientFileName("A"));
}

}  // namespace
}  // namespace trustlink::htl
