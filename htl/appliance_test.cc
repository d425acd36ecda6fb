#include "htl/appliance.h"

#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "htl/crypto.h"
#include "ntl/status.h"

namespace trustlink::htl {
namespace {

using ::testing::HasSubstr;

std::string TestRoot(absl::string_view name) {
  const std::string root =
      std::string(std::getenv("TEST_TMPDIR")) + "/" + std::string(name);
  std::system(("rm -rf '" + root + "'").c_str());
  return root;
}

SessionInfo NewSession(absl::string_view source) {
  static int counter = 0;
  SessionInfo s;
  s.id = "session-" + std::to_string(++counter);
  s.exporter = RandomBytes(kExporterLen);
  s.source = std::string(source);
  return s;
}

// SimAgent is the client side reduced to its secret, so the state machine can
// be driven directly. (The real agent is tested against this machine in
// agent_test.)
struct SimAgent {
  uint64_t generation = 0;
  std::string secret;
  std::string source = "192.0.2.10:5000";

  absl::Status Establish(Appliance& a, absl::string_view client,
                         absl::string_view token) {
    SessionInfo s = NewSession(source);
    EstablishRequest r;
    r.token = std::string(token);
    r.binding = ComputeProof(ProofPurpose::kEstablish, token, 0, s.exporter);
    absl::StatusOr<Grant> g = a.Establish(client, s, r);
    if (!g.ok()) return g.status();
    generation = g->generation;
    secret = g->secret;
    return absl::OkStatus();
  }
  // Heartbeat sends a proof; when `drop_reply`, the grant never arrives.
  absl::Status Heartbeat(Appliance& a, absl::string_view client,
                         bool drop_reply = false) {
    SessionInfo s = NewSession(source);
    HeartbeatRequest r;
    r.generation = generation;
    r.mac =
        ComputeProof(ProofPurpose::kHeartbeat, secret, generation, s.exporter);
    absl::StatusOr<Grant> g = a.Heartbeat(client, s, r);
    if (!g.ok()) return g.status();
    if (!drop_reply) {
      generation = g->generation;
      secret = g->secret;
    }
    return absl::OkStatus();
  }
  LinkProof ProofFor(absl::string_view exporter) const {
    LinkProof p;
    p.generation = generation;
    p.mac =
        ComputeProof(ProofPurpose::kLinkProof, secret, generation, exporter);
    return p;
  }
};

class ApplianceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = TestRoot(
        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    Reopen();
  }
  // Reopen simulates an appliance restart: everything in memory is lost.
  void Reopen(bool daemon = true) {
    appliance_.reset();
    Appliance::Options o;
    o.root = root_;
    o.clock = &clock_;
    o.daemon = daemon;
    absl::StatusOr<std::unique_ptr<Appliance>> a = Appliance::Open(o);
    ASSERT_TRUE(a.ok()) << a.status();
    appliance_ = *std::move(a);
    appliance_->SetEventSink(
        [this](const HtlEvent& e) { events_.push_back(e); });
  }
  ClientView View(absl::string_view client) {
    absl::StatusOr<ClientView> v = appliance_->Show(client);
    EXPECT_TRUE(v.ok()) << v.status();
    return v.ok() ? *v : ClientView{};
  }
  std::string Token(absl::string_view client) {
    absl::StatusOr<std::string> t =
        appliance_->GenerateOtt(client, absl::nullopt);
    EXPECT_TRUE(t.ok()) << t.status();
    return t.ok() ? *t : "";
  }
  int Alarms() const {
    int n = 0;
    for (const HtlEvent& e : events_) n += e.kind == HtlEvent::Kind::kAlert;
    return n;
  }

  FakeClock clock_;
  std::string root_;
  std::unique_ptr<Appliance> appliance_;
  std::vector<HtlEvent> events_;
};

TEST_F(ApplianceTest, DefaultsAreSixtySecondGraceAndThreeHundredSecondExpiry) {
  absl::StatusOr<HtlSettings> s = appliance_->Settings();
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->grace_period, absl::Seconds(60));
  EXPECT_EQ(s->default_ott_expiry, absl::Seconds(300));
  ASSERT_TRUE(appliance_->SetGracePeriod(absl::Seconds(90)).ok());
  ASSERT_TRUE(appliance_->SetDefaultOttExpiry(absl::Seconds(600)).ok());
  Reopen(false);
  s = appliance_->Settings();
  EXPECT_EQ(s->grace_period, absl::Seconds(90));
  EXPECT_EQ(s->default_ott_expiry, absl::Seconds(600));
  EXPECT_EQ(
      ntl::ToTlStatus(appliance_->SetDefaultOttExpiry(absl::ZeroDuration())),
      TL_E_OUT_OF_RANGE);
  const ClientView v = View("web1");
  EXPECT_EQ(v.htl, HtlStatus::kUnknown);
  EXPECT_EQ(v.ott, OttStatus::kNoFile);
  EXPECT_TRUE(v.ott_expiry_is_default);
  EXPECT_EQ(v.ott_expiry_seconds, 600);
}

TEST_F(ApplianceTest, TokenExchangeBringsHtlUpAndTokenInUse) {
  const std::string token = Token("web1");
  EXPECT_EQ(View("web1").ott, OttStatus::kReady);
  SimAgent agent;
  ASSERT_TRUE(agent.Establish(*appliance_, "web1", token).ok());
  ClientView v = View("web1");
  EXPECT_EQ(v.htl, HtlStatus::kUp);
  EXPECT_EQ(v.ott, OttStatus::kInUse);
  EXPECT_EQ(v.link_source, agent.source);
  ASSERT_TRUE(agent.Heartbeat(*appliance_, "web1").ok());
  EXPECT_EQ(View("web1").generation, agent.generation);
  // The token itself is never stored: only its hash appears in the state.
  EXPECT_EQ(HexEncode(token).size(), 64u);
}

TEST_F(ApplianceTest, ClearResetsACorruptStateFileAsItsErrorAdvises) {
  SimAgent agent;
  ASSERT_TRUE(agent.Establish(*appliance_, "web1", Token("web1")).ok());
  const uint64_t old_generation = agent.generation;
  // The state file is damaged (a bad disk, a bad hand edit).
  const std::string path = root_ + "/htl/" + ClientFileName("web1");
  std::ofstream(path, std::ios::trunc) << "not an HTL state file\n";
  absl::StatusOr<ClientView> broken = appliance_->Show("web1");
  ASSERT_EQ(ntl::ToTlStatus(broken.status()), TL_E_DATA_LOSS);
  EXPECT_THAT(std::string(broken.status().message()),
              HasSubstr("tl_htl_clear"));

  ASSERT_TRUE(appliance_->Clear("web1").ok());
  EXPECT_EQ(View("web1").htl, HtlStatus::kUnknown);
  ASSERT_FALSE(events_.empty());
  EXPECT_EQ(events_.back().kind, HtlEvent::Kind::kDown);
  // A new token brings it back, on generations the lost file never issued.
  SimAgent fresh;
  ASSERT_TRUE(fresh.Establish(*appliance_, "web1", Token("web1")).ok());
  EXPECT_GT(fresh.generation, old_generation);
  EXPECT_EQ(View("web1").htl, HtlStatus::kUp);
  // The old secret means nothing to the new chain, and raises no alarm.
  EXPECT_FALSE(agent.Heartbeat(*appliance_, "web1").ok());
  EXPECT_EQ(Alarms(), 0);
}

TEST_F(ApplianceTest, ExpiryOverrideIsShownAndUsed) {
  absl::StatusOr<std::string> t =
      appliance_->GenerateOtt("web1", absl::Seconds(30));
  ASSERT_TRUE(t.ok());
  ClientView v = View("web1");
  EXPECT_FALSE(v.ott_expiry_is_default);
  EXPECT_EQ(v.ott_expiry_seconds, 30);
  EXPECT_EQ(v.ott_expires_at, clock_.Now() + absl::Seconds(30));
  clock_.Advance(absl::Seconds(31));
  EXPECT_EQ(View("web1").ott, OttStatus::kExpired);
  ASSERT_TRUE(appliance_->SetClientOttExpiry("web1", absl::nullopt).ok());
  EXPECT_TRUE(View("web1").ott_expiry_is_default);
}

TEST_F(ApplianceTest, TokenUsedTwiceIsRefusedWithOttUsed) {
  const std::string token = Token("web1");
  SimAgent agent;
  ASSERT_TRUE(agent.Establish(*appliance_, "web1", token).ok());
  ASSERT_TRUE(
      agent.Heartbeat(*appliance_, "web1").ok());  // the chain is confirmed
  SimAgent again;
  const absl::Status s = again.Establish(*appliance_, "web1", token);
  EXPECT_EQ(ntl::ToTlStatus(s), TL_E_OTT_USED) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("already used"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("tl_htl_generate_ott"));
}

TEST_F(ApplianceTest, ExpiredTokenIsRefusedWithOttExpired) {
  const std::string token = Token("web1");
  clock_.Advance(absl::Seconds(300));
  SimAgent agent;
  const absl::Status s = agent.Establish(*appliance_, "web1", token);
  EXPECT_EQ(ntl::ToTlStatus(s), TL_E_OTT_EXPIRED) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("expired"));
  EXPECT_EQ(View("web1").ott, OttStatus::kExpired);
}

TEST_F(ApplianceTest, AnotherClientsTokenIsRefusedWithOttInvalid) {
  const std::string web2_token = Token("web2");
  Token("web1");
  SimAgent agent;
  const absl::Status s = agent.Establish(*appliance_, "web1", web2_token);
  EXPECT_EQ(ntl::ToTlStatus(s), TL_E_OTT_INVALID) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("another client ('web2')"));
  // web2's token is still good for web2.
  EXPECT_TRUE(agent.Establish(*appliance_, "web2", web2_token).ok());
}

TEST_F(ApplianceTest, UnknownTokenIsRefusedWithOttInvalid) {
  SimAgent agent;
  absl::Status s = agent.Establish(*appliance_, "web1", RandomBytes(kTokenLen));
  EXPECT_EQ(ntl::ToTlStatus(s), TL_E_OTT_INVALID);
  EXPECT_THAT(std::string(s.message()), HasSubstr("none was generated"));
}

TEST_F(ApplianceTest, NewTokenVoidsTheOldOne) {
  const std::string old_token = Token("web1");
  const std::string new_token = Token("web1");
  SimAgent agent;
  const absl::Status s = agent.Establish(*appliance_, "web1", old_token);
  EXPECT_EQ(ntl::ToTlStatus(s), TL_E_OTT_INVALID) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("voided by a newer token"));
  EXPECT_TRUE(agent.Establish(*appliance_, "web1", new_token).ok());
}

TEST_F(ApplianceTest, TokenReplayedOnAnotherTlsSessionIsRefused) {
  const std::string token = Token("web1");
  // The exchange was bound to session A's exporter; it is presented on session
  // B.
  const SessionInfo a = NewSession("192.0.2.10:1");
  const SessionInfo b = NewSession("192.0.2.66:2");
  EstablishRequest r;
  r.token = token;
  r.binding = ComputeProof(ProofPurpose::kEstablish, token, 0, a.exporter);
  absl::StatusOr<Grant> g = appliance_->Establish("web1", b, r);
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(ntl::ToTlStatus(g.status()), TL_E_OTT_INVALID);
  EXPECT_THAT(std::string(g.status().message()), HasSubstr("another session"));
  // Nothing was consumed: the genuine exchange on session A still works.
  EXPECT_TRUE(appliance_->Establish("web1", a, r).ok());
  // ...and replaying that very exchange afterwards on session B is refused too.
  g = appliance_->Establish("web1", b, r);
  EXPECT_EQ(ntl::ToTlStatus(g.status()), TL_E_OTT_INVALID);
}

TEST_F(ApplianceTest, CloneIsDetectedAtTheFirstHeartbeatAfterBothRan) {
  SimAgent a;
  a.source = "192.0.2.10:4000";
  ASSERT_TRUE(a.Establish(*appliance_, "web1", Token("web1")).ok());
  ASSERT_TRUE(a.Heartbeat(*appliance_, "web1").ok());
  SimAgent b = a;  // a live-memory clone of the VM
  b.source = "198.51.100.7:4000";
  ASSERT_TRUE(a.Heartbeat(*appliance_, "web1").ok());
  // b's proof is under the previous secret: indistinguishable from a lost
  // reply, so it is accepted, and the secret a received is retired.
  ASSERT_TRUE(b.Heartbeat(*appliance_, "web1").ok());
  EXPECT_EQ(Alarms(), 0);
  const absl::Status s = a.Heartbeat(*appliance_, "web1");
  EXPECT_EQ(ntl::ToTlStatus(s), TL_E_HTL_CLONE_DETECTED) << s;
  ASSERT_EQ(Alarms(), 1);
  const HtlEvent& alert = events_[0];
  EXPECT_EQ(alert.client, "web1");
  EXPECT_EQ(alert.source_presented, "192.0.2.10:4000");
  EXPECT_EQ(alert.source_other, "198.51.100.7:4000");
  EXPECT_TRUE(
      std::any_of(events_.begin(), events_.end(), [](const HtlEvent& e) {
        return e.kind == HtlEvent::Kind::kDown && e.client == "web1";
      }));
  absl::StatusOr<std::vector<std::string>> log = appliance_->Alerts();
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->size(), 1u);
  EXPECT_THAT((*log)[0], HasSubstr("web1"));
  EXPECT_THAT((*log)[0], HasSubstr("192.0.2.10:4000"));
  EXPECT_THAT((*log)[0], HasSubstr("198.51.100.7:4000"));
  // Down for both copies, for application links too, until a new token.
  const ClientView v = View("web1");
  EXPECT_EQ(v.htl, HtlStatus::kDown);
  EXPECT_EQ(v.down_reason, "clone detected");
  EXPECT_EQ(ntl::ToTlStatus(b.Heartbeat(*appliance_, "web1")), TL_E_HTL_DOWN);
  const std::string exporter = RandomBytes(kExporterLen);
  EXPECT_EQ(ntl::ToTlStatus(appliance_->CheckLinkProof("web1", exporter,
                                                       b.ProofFor(exporter))),
            TL_E_HTL_DOWN);
  Reopen();
  EXPECT_EQ(View("web1").htl, HtlStatus::kDown);
  SimAgent fresh;
  ASSERT_TRUE(fresh.Establish(*appliance_, "web1", Token("web1")).ok());
  EXPECT_EQ(View("web1").htl, HtlStatus::kUp);
}

TEST_F(ApplianceTest, CloneIsDetectedWhicheverCopyHeartbeatsNext) {
  SimAgent a;
  ASSERT_TRUE(a.Establish(*appliance_, "web1", Token("web1")).ok());
  SimAgent b = a;
  ASSERT_TRUE(a.Heartbeat(*appliance_, "web1").ok());
  ASSERT_TRUE(b.Heartbeat(*appliance_, "web1").ok());
  ASSERT_TRUE(b.Heartbeat(*appliance_, "web1").ok());  // b runs on; a is behind
  EXPECT_EQ(ntl::ToTlStatus(a.Heartbeat(*appliance_, "web1")),
            TL_E_HTL_CLONE_DETECTED);
}

TEST_F(ApplianceTest, RolledBackCopyIsDetected) {
  SimAgent agent;
  ASSERT_TRUE(agent.Establish(*appliance_, "web1", Token("web1")).ok());
  ASSERT_TRUE(agent.Heartbeat(*appliance_, "web1").ok());
  const SimAgent snapshot = agent;
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(agent.Heartbeat(*appliance_, "web1").ok());
  SimAgent restored = snapshot;
  EXPECT_EQ(ntl::ToTlStatus(restored.Heartbeat(*appliance_, "web1")),
            TL_E_HTL_CLONE_DETECTED);
  EXPECT_EQ(Alarms(), 1);
}

TEST_F(ApplianceTest, ProofUnderNoIssuedSecretIsRefusedWithoutAlarm) {
  SimAgent agent;
  ASSERT_TRUE(agent.Establish(*appliance_, "web1", Token("web1")).ok());
  SimAgent forger;  // a disk clone: it has the client key but no secret
  forger.generation = agent.generation;
  forger.secret = RandomBytes(kSecretLen);
  EXPECT_EQ(ntl::ToTlStatus(forger.Heartbeat(*appliance_, "web1")),
            TL_E_UNAUTHENTICATED);
  EXPECT_EQ(Alarms(), 0);
  EXPECT_EQ(View("web1").htl, HtlStatus::kUp);
  EXPECT_TRUE(agent.Heartbeat(*appliance_, "web1").ok());
}

TEST_F(ApplianceTest, LostHeartbeatRepliesAreNoFalseAlarm) {
  SimAgent agent;
  ASSERT_TRUE(agent.Establish(*appliance_, "web1", Token("web1")).ok());
  std::mt19937 rng(7);
  for (int i = 0; i < 200; ++i) {
    const bool drop = rng() % 2 == 0;
    const absl::Status s = agent.Heartbeat(*appliance_, "web1", drop);
    ASSERT_TRUE(s.ok()) << "step " << i << ": " << s;
  }
  EXPECT_EQ(Alarms(), 0);
  EXPECT_EQ(View("web1").htl, HtlStatus::kUp);
}

TEST_F(ApplianceTest, LostEstablishReplyIsRetriedWithTheSameToken) {
  const std::string token = Token("web1");
  SimAgent lost;
  ASSERT_TRUE(lost.Establish(*appliance_, "web1", token)
                  .ok());  // reply "lost": agent retries
  SimAgent agent;
  ASSERT_TRUE(agent.Establish(*appliance_, "web1", token).ok());
  ASSERT_TRUE(agent.Heartbeat(*appliance_, "web1").ok());
  EXPECT_EQ(Alarms(), 0);
  // Had the first reply reached a second copy, that copy is caught when it uses
  // it.
  EXPECT_EQ(ntl::ToTlStatus(lost.Heartbeat(*appliance_, "web1")),
            TL_E_HTL_CLONE_DETECTED);
}

// Every step is followed by a restart of the appliance from disk, and at random
// points the appliance "crashes" before (nothing persisted) or after (reply
// lost) a heartbeat.
TEST_F(ApplianceTest, CrashAtAnyPointCausesNoFalseAlarmAndNoReenrolment) {
  SimAgent agent;
  const std::string token = Token("web1");
  Reopen();
  // A crash after persisting the exchange but before the reply: the agent
  // retries.
  ASSERT_TRUE(agent.Establish(*appliance_, "web1", token).ok());
  SimAgent retry = agent;
  Reopen();
  ASSERT_TRUE(retry.Establish(*appliance_, "web1", token).ok());
  agent = retry;
  std::mt19937 rng(42);
  for (int i = 0; i < 300; ++i) {
    switch (rng() % 4) {
      case 0:  // crash before persist: the request never took effect
        break;
      case 1:  // crash after persist: the reply is lost
        ASSERT_TRUE(
            agent.Heartbeat(*appliance_, "web1", /*drop_reply=*/true).ok())
            << i;
        break;
      default:
        ASSERT_TRUE(agent.Heartbeat(*appliance_, "web1").ok()) << i;
        break;
    }
    clock_.Advance(absl::Seconds(1 + rng() % 20));
    Reopen();
  }
  EXPECT_EQ(Alarms(), 0);
  ASSERT_TRUE(agent.Heartbeat(*appliance_, "web1").ok());
  EXPECT_EQ(View("web1").htl, HtlStatus::kUp);
}

TEST_F(ApplianceTest, ApplianceOutageStartsAFreshGracePeriod) {
  SimAgent agent;
  ASSERT_TRUE(agent.Establish(*appliance_, "web1", Token("web1")).ok());
  clock_.Advance(absl::Hours(2));  // the appliance was off for two hours
  Reopen();
  ClientView v = View("web1");
  EXPECT_EQ(v.htl, HtlStatus::kGracePeriod);
  EXPECT_EQ(v.grace_ends_at, clock_.Now() + absl::Seconds(60));
  appliance_->Tick();
  EXPECT_TRUE(events_.empty());
  ASSERT_TRUE(agent.Heartbeat(*appliance_, "web1").ok());
  EXPECT_EQ(View("web1").htl, HtlStatus::kUp);
}

TEST_F(ApplianceTest, GracePeriodExpiryTakesHtlDownAndClosesLinks) {
  SimAgent agent;
  const SessionInfo link = NewSession("192.0.2.10:9");
  EstablishRequest r;
  r.token = Token("web1");
  r.binding = ComputeProof(ProofPurpose::kEstablish, r.token, 0, link.exporter);
  absl::StatusOr<Grant> g = appliance_->Establish("web1", link, r);
  ASSERT_TRUE(g.ok());
  agent.generation = g->generation;
  agent.secret = g->secret;
  appliance_->OnHtlLinkClosed("web1",
                              "some-other-session");  // not its link: ignored
  EXPECT_EQ(View("web1").htl, HtlStatus::kUp);
  appliance_->OnHtlLinkClosed("web1", link.id);
  clock_.Advance(absl::Seconds(59));
  EXPECT_EQ(View("web1").htl, HtlStatus::kGracePeriod);
  const std::string exporter = RandomBytes(kExporterLen);
  EXPECT_TRUE(
      appliance_->CheckLinkProof("web1", exporter, agent.ProofFor(exporter))
          .ok());
  appliance_->Tick();
  EXPECT_TRUE(events_.empty());
  clock_.Advance(absl::Seconds(1));
  appliance_->Tick();
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].kind, HtlEvent::Kind::kDown);
  EXPECT_EQ(events_[0].client, "web1");
  const ClientView v = View("web1");
  EXPECT_EQ(v.htl, HtlStatus::kDown);
  EXPECT_EQ(v.ott, OttStatus::kNoFile);
  EXPECT_EQ(ntl::ToTlStatus(appliance_->CheckLinkProof(
                "web1", exporter, agent.ProofFor(exporter))),
            TL_E_HTL_DOWN);
  EXPECT_EQ(ntl::ToTlStatus(agent.Heartbeat(*appliance_, "web1")),
            TL_E_HTL_DOWN);
  EXPECT_EQ(Alarms(), 0);
}

TEST_F(ApplianceTest, SilentLinkCountsAsDroppedAfterThreeHeartbeatIntervals) {
  SimAgent agent;
  ASSERT_TRUE(agent.Establish(*appliance_, "web1", Token("web1")).ok());
  clock_.Advance(absl::Seconds(30));
  EXPECT_EQ(View("web1").htl, HtlStatus::kUp);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(View("web1").htl, HtlStatus::kGracePeriod);
  clock_.Advance(absl::Seconds(60));
  EXPECT_EQ(View("web1").htl, HtlStatus::kDown);
}

TEST_F(ApplianceTest, LinkProofIsBoundToTheLinksExporter) {
  SimAgent agent;
  ASSERT_TRUE(agent.Establish(*appliance_, "web1", Token("web1")).ok());
  const std::string exporter = RandomBytes(kExporterLen);
  const LinkProof proof = agent.ProofFor(exporter);
  EXPECT_TRUE(appliance_->CheckLinkProof("web1", exporter, proof).ok());
  const absl::Status s =
      appliance_->CheckLinkProof("web1", RandomBytes(kExporterLen), proof);
  EXPECT_EQ(ntl::ToTlStatus(s), TL_E_UNAUTHENTICATED);
  // A proof made just before a heartbeat still verifies (previous secret).
  ASSERT_TRUE(agent.Heartbeat(*appliance_, "web1").ok());
  EXPECT_TRUE(appliance_->CheckLinkProof("web1", exporter, proof).ok());
  // A heartbeat MAC is not a link proof.
  LinkProof wrong = agent.ProofFor(exporter);
  wrong.mac = ComputeProof(ProofPurpose::kHeartbeat, agent.secret,
                           agent.generation, exporter);
  EXPECT_FALSE(appliance_->CheckLinkProof("web1", exporter, wrong).ok());
  EXPECT_EQ(ntl::ToTlStatus(appliance_->CheckLinkProof("db9", exporter, proof)),
            TL_E_HTL_DOWN);
}

TEST_F(ApplianceTest, ClearDropsStateAndNeedsANewToken) {
  SimAgent agent;
  const std::string token = Token("web1");
  ASSERT_TRUE(agent.Establish(*appliance_, "web1", token).ok());
  const uint64_t generation = agent.generation;
  ASSERT_TRUE(appliance_->Clear("web1").ok());
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].kind, HtlEvent::Kind::kDown);
  const ClientView v = View("web1");
  EXPECT_EQ(v.htl, HtlStatus::kUnknown);
  EXPECT_EQ(v.ott, OttStatus::kNoFile);
  EXPECT_EQ(ntl::ToTlStatus(agent.Heartbeat(*appliance_, "web1")),
            TL_E_HTL_DOWN);
  EXPECT_EQ(ntl::ToTlStatus(agent.Establish(*appliance_, "web1", token)),
            TL_E_OTT_INVALID);
  ASSERT_TRUE(agent.Establish(*appliance_, "web1", Token("web1")).ok());
  EXPECT_GT(agent.generation, generation);  // generations are never reused
}

TEST_F(ApplianceTest,
       ShowAllListsEveryClientAndSurvivesReopenByAnotherProcess) {
  Token("web2");
  SimAgent agent;
  ASSERT_TRUE(agent.Establish(*appliance_, "web1", Token("web1")).ok());
  Reopen(/*daemon=*/false);  // ntlsh: does not start a new boot
  absl::StatusOr<std::vector<ClientView>> all = appliance_->ShowAll();
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].client, "web1");
  EXPECT_EQ((*all)[0].htl, HtlStatus::kUp);
  EXPECT_EQ((*all)[1].client, "web2");
  EXPECT_EQ((*all)[1].ott, OttStatus::kReady);
}

}  // namespace
}  // namespace trustlink::htl
