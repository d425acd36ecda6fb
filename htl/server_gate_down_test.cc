// The HTL through the real NTLS server: HTL Down (clone, clear, grace period)
// closes the client's links, an appliance restart raises no alarm, and
// registry changes re-apply the HTL rules to live links.

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "htl/appliance.h"
#include "htl/crypto.h"
#include "htl/messages.h"
#include "htl/testing/server_fixture.h"
#include "ntl/wire/messages.h"
#include "trustlink/base.h"

namespace trustlink::htl::testing {
namespace {

TEST_F(ServerGateTest, CloneDetectedClosesAllTheClientsLinks) {
  StartServer();
  auto link_a = HtlLink();
  auto link_b = HtlLink();
  ASSERT_TRUE(link_a && link_b);
  Agent a = Enrolled(link_a.get());
  ASSERT_FALSE(HasFailure());
  auto app = AppLink(a);
  ASSERT_NE(app, nullptr);
  Agent b = a;  // a live clone: the same secret
  ASSERT_EQ(Heartbeat(link_a.get(), &a), TL_OK);
  ASSERT_EQ(Heartbeat(link_b.get(), &b), TL_OK);  // looks like a lost reply
  std::string message;
  EXPECT_EQ(Heartbeat(link_a.get(), &a, &message), TL_E_HTL_CLONE_DETECTED);
  const absl::Time detected = absl::Now();
  ExpectGoAway(app.get(), TL_E_HTL_DOWN, "Down");
  ExpectGoAway(link_b.get(), TL_E_HTL_DOWN, "tl_htl_generate_ott");
  ExpectGoAway(link_a.get(), TL_E_HTL_DOWN, "web1");
  // Within a tick or so (200 ms); a gate that never closed them fails the
  // reads above at their 10 s timeout, so this bound only adds a sanity check.
  EXPECT_LT(absl::Now() - detected, absl::Seconds(5));
  EXPECT_TRUE(WaitFor([&] { return log_.Contains("ALERT htl", "web1"); },
                      absl::Seconds(5)));
  EXPECT_EQ(StatusOf("web1"), HtlStatus::kDown);
  // And no new link gets in.
  auto late = Connect(Opts(true));
  ASSERT_NE(late, nullptr);
  auto f = SendHelloAndProof(late.get(), ProofFor(b, Exporter(*late)));
  ASSERT_TRUE(f.ok());
  ASSERT_EQ(f->type, wire::FrameType::kGoAway);
  EXPECT_EQ(wire::DecodeClosing(f->payload)->status, TL_E_HTL_DOWN);
}

TEST_F(ServerGateTest, ClearClosesLinksEvenFromAnotherProcess) {
  StartServer();
  auto link = HtlLink();
  ASSERT_NE(link, nullptr);
  Agent agent = Enrolled(link.get());
  ASSERT_FALSE(HasFailure());
  auto app = AppLink(agent);
  ASSERT_NE(app, nullptr);
  // ntlsh opens the same state without daemon and clears it.
  Appliance::Options o;
  o.root = root_;
  o.clock = &clock_;
  auto admin = Appliance::Open(o);
  ASSERT_TRUE(admin.ok()) << admin.status();
  ASSERT_TRUE((*admin)->Clear("web1").ok());
  const absl::Time cleared = absl::Now();
  ExpectGoAway(app.get(), TL_E_HTL_DOWN, "another process");
  ExpectGoAway(link.get(), TL_E_HTL_DOWN, "web1");
  EXPECT_LT(absl::Now() - cleared, absl::Seconds(5));  // as above
}

TEST_F(ServerGateTest, GracePeriodExpiryClosesLinks) {
  ASSERT_TRUE(appliance_->SetGracePeriod(absl::Seconds(30)).ok());
  StartServer();
  auto link = HtlLink();
  ASSERT_NE(link, nullptr);
  Agent agent = Enrolled(link.get());
  ASSERT_FALSE(HasFailure());
  auto app = AppLink(agent);
  ASSERT_NE(app, nullptr);
  link.reset();  // the agent's link drops: the grace period starts
  ASSERT_TRUE(
      WaitFor([&] { return StatusOf("web1") == HtlStatus::kGracePeriod; },
              absl::Seconds(5)));
  // Within the grace period application links are still admitted.
  auto during = AppLink(agent);
  ASSERT_NE(during, nullptr);
  clock_.Advance(absl::Seconds(31));
  ExpectGoAway(app.get(), TL_E_HTL_DOWN, "grace");
  ExpectGoAway(during.get(), TL_E_HTL_DOWN, "web1");
  EXPECT_EQ(StatusOf("web1"), HtlStatus::kDown);
}

TEST_F(ServerGateTest, ApplianceRestartRaisesNoCloneAlarm) {
  StartServer();
  Agent agent;
  {
    auto link = HtlLink();
    ASSERT_NE(link, nullptr);
    agent = Enrolled(link.get());
    ASSERT_FALSE(HasFailure());
    ASSERT_EQ(Heartbeat(link.get(), &agent), TL_OK);
  }
  StopServer();
  appliance_.reset();
  OpenAppliance();  // a new ntlsd run on the same state
  StartServer();
  auto link = HtlLink();
  ASSERT_NE(link, nullptr);
  EXPECT_EQ(Heartbeat(link.get(), &agent), TL_OK);
  EXPECT_EQ(Heartbeat(link.get(), &agent), TL_OK);
  EXPECT_EQ(StatusOf("web1"), HtlStatus::kUp);
  auto alerts = appliance_->Alerts();
  ASSERT_TRUE(alerts.ok());
  EXPECT_TRUE(alerts->empty());
  auto app = AppLink(agent);
  EXPECT_NE(app, nullptr);
}

TEST_F(ServerGateTest, RegistryChangesReapplyTheHtlRules) {
  StartServer();
  // db1 is admitted without HTL, then registered with -requirehtl.
  auto plain = Connect(Opts(false));
  ASSERT_NE(plain, nullptr);
  auto w = plain->Hello(0);
  ASSERT_TRUE(w.ok());
  ASSERT_EQ(w->type, wire::FrameType::kWelcome);
  // web1 holds a proven link, and loses -requirehtl.
  auto link = HtlLink();
  ASSERT_NE(link, nullptr);
  Agent agent = Enrolled(link.get());
  ASSERT_FALSE(HasFailure());
  auto app = AppLink(agent);
  ASSERT_NE(app, nullptr);

  directory_->Put(Record("db1", FingerprintOfPem(db_cert_), true));
  ExpectGoAway(plain.get(), TL_E_HTL_REQUIRED_BY_APPLIANCE, "now requires HTL");
  // An unrelated change keeps the proven link open.
  ASSERT_TRUE(app->Call("p1", 1, "still here").ok());

  directory_->Put(Record("web1", FingerprintOfPem(web_cert_), false));
  ExpectGoAway(app.get(), TL_E_HTL_REQUIRED_BY_CLIENT, "require-HTL");
  ExpectGoAway(link.get(), TL_E_HTL_REQUIRED_BY_CLIENT, "require-HTL");
}

}  // namespace
}  // namespace trustlink::htl::testing
