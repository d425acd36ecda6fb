#include "htl/agent.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <random>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "htl/appliance.h"
#include "htl/crypto.h"
#include "htl/ott.h"
#include "htl/testing/loopback.h"
#include "ntl/status.h"

namespace trustlink::htl {
namespace {

using ::testing::HasSubstr;
using testing::LoopbackConnector;

constexpr char kClient[] = "web1";
constexpr char kAppliance[] = "hsm1";

class AgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string base =
        std::string(std::getenv("TEST_TMPDIR")) + "/" +
        ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::system(("rm -rf '" + base + "'").c_str());
    ASSERT_EQ(::mkdir(base.c_str(), 0700), 0);
    appliance_root_ = base + "/appliance";
    client_root_ = base + "/client";
    ASSERT_EQ(::mkdir(client_root_.c_str(), 0700), 0);
    ASSERT_EQ(::mkdir((client_root_ + "/htl").c_str(), 0700), 0);
    RestartAppliance();
  }

  // RestartAppliance replaces the appliance process: memory gone, state from
  // disk.
  void RestartAppliance() {
    Appliance::Options o;
    o.root = appliance_root_;
    o.clock = &clock_;
    o.daemon = true;
    for (LoopbackConnector* c : connectors_) c->set_appliance(nullptr);
    appliance_.reset();
    absl::StatusOr<std::unique_ptr<Appliance>> a = Appliance::Open(o);
    ASSERT_TRUE(a.ok()) << a.status();
    appliance_ = *std::move(a);
    appliance_->SetEventSink(
        [this](const HtlEvent& e) { events_.push_back(e); });
    for (LoopbackConnector* c : connectors_) c->set_appliance(appliance_.get());
  }

  std::unique_ptr<LoopbackConnector> Connector(const std::string& source) {
    auto c =
        std::make_unique<LoopbackConnector>(appliance_.get(), kClient, source);
    connectors_.push_back(c.get());
    return c;
  }

  std::unique_ptr<Agent> NewAgent(HtlConnector* connector, SecretStore* store) {
    AgentOptions o;
    o.client_root = client_root_;
    o.appliances = {kAppliance};
    o.connector = connector;
    o.store = store;
    o.clock = &clock_;
    absl::StatusOr<std::unique_ptr<Agent>> a = Agent::Create(o);
    EXPECT_TRUE(a.ok()) << a.status();
    return a.ok() ? *std::move(a) : nullptr;
  }

  // CopyToken does what the admin does: the token file, renamed
  // <appliance>.ott, in htl/.
  void CopyToken(const std::string& token) {
    std::ofstream(TokenPath()) << FormatTokenFile(token, kClient);
  }
  std::string TokenPath() const {
    return client_root_ + "/htl/" + kAppliance + ".ott";
  }
  bool TokenFileExists() const {
    return ::access(TokenPath().c_str(), F_OK) == 0;
  }

  std::string Generate() {
    absl::StatusOr<std::string> t =
        appliance_->GenerateOtt(kClient, absl::nullopt);
    EXPECT_TRUE(t.ok());
    return t.ok() ? *t : "";
  }
  AgentApplianceStatus StatusOf(Agent& agent) { return agent.Status().at(0); }
  HtlStatus Htl() { return appliance_->Show(kClient)->htl; }
  int Alarms() const {
    int n = 0;
    for (const HtlEvent& e : events_) n += e.kind == HtlEvent::Kind::kAlert;
    return n;
  }

  FakeClock clock_;
  std::string appliance_root_;
  std::string client_root_;
  std::unique_ptr<Appliance> appliance_;
  std::vector<LoopbackConnector*> connectors_;
  std::vector<HtlEvent> events_;
};

TEST_F(AgentTest, TakesUpTheTokenFileDeletesItAndBringsHtlUp) {
  auto connector = Connector("192.0.2.10:7000");
  MemorySecretStore store;
  auto agent = NewAgent(connector.get(), &store);
  ASSERT_TRUE(agent->PollOnce().ok());
  EXPECT_EQ(StatusOf(*agent).state, AgentLinkState::kNoToken);
  EXPECT_EQ(Htl(), HtlStatus::kUnknown);

  CopyToken(Generate());
  ASSERT_TRUE(agent->PollOnce().ok());
  EXPECT_EQ(StatusOf(*agent).state, AgentLinkState::kUp)
      << StatusOf(*agent).last_error;
  EXPECT_FALSE(TokenFileExists());
  const ClientView v = *appliance_->Show(kClient);
  EXPECT_EQ(v.htl, HtlStatus::kUp);
  EXPECT_EQ(v.ott, OttStatus::kInUse);
  EXPECT_EQ(v.generation, StatusOf(*agent).generation);
  // Heartbeats ratchet the secret on one kept session.
  const uint64_t g = StatusOf(*agent).generation;
  ASSERT_TRUE(agent->PollOnce().ok());
  ASSERT_TRUE(agent->PollOnce().ok());
  EXPECT_EQ(StatusOf(*agent).generation, g + 2);
  EXPECT_EQ(connector->connects, 1);
}

TEST_F(AgentTest, ApplicationLinkProofsVerifyAtTheAppliance) {
  auto connector = Connector("192.0.2.10:7000");
  MemorySecretStore store;
  auto agent = NewAgent(connector.get(), &store);
  const std::string exporter = RandomBytes(kExporterLen);
  absl::StatusOr<LinkProof> none = agent->ProofFor(kAppliance, exporter);
  EXPECT_EQ(ntl::ToTlStatus(none.status()), TL_E_HTL_DOWN);
  EXPECT_THAT(std::string(none.status().message()), HasSubstr("hsm1.ott"));
  CopyToken(Generate());
  ASSERT_TRUE(agent->PollOnce().ok());
  absl::StatusOr<LinkProof> proof = agent->ProofFor(kAppliance, exporter);
  ASSERT_TRUE(proof.ok());
  EXPECT_TRUE(appliance_->CheckLinkProof(kClient, exporter, *proof).ok());
  EXPECT_FALSE(
      appliance_->CheckLinkProof(kClient, RandomBytes(kExporterLen), *proof)
          .ok());
}

TEST_F(AgentTest, ClonedAgentStateIsDetectedAtTheFirstHeartbeatAfterBothRan) {
  auto ca = Connector("192.0.2.10:7000");
  MemorySecretStore store_a;
  auto a = NewAgent(ca.get(), &store_a);
  CopyToken(Generate());
  ASSERT_TRUE(a->PollOnce().ok());
  ASSERT_EQ(StatusOf(*a).state, AgentLinkState::kUp);
  // Fork the agent's state: a VM cloned with its memory.
  std::unique_ptr<MemorySecretStore> store_b = store_a.Copy();
  auto cb = Connector("198.51.100.20:7000");
  auto b = NewAgent(cb.get(), store_b.get());
  ASSERT_TRUE(a->PollOnce().ok());
  EXPECT_EQ(StatusOf(*a).state, AgentLinkState::kUp);
  ASSERT_TRUE(
      b->PollOnce().ok());  // b's first heartbeat: both copies have now run
  EXPECT_EQ(StatusOf(*b).state, AgentLinkState::kUp);
  EXPECT_EQ(Alarms(), 0);
  ASSERT_TRUE(a->PollOnce().ok());  // the first heartbeat after both ran
  EXPECT_EQ(ntl::ToTlStatus(StatusOf(*a).last_error), TL_E_HTL_CLONE_DETECTED);
  EXPECT_EQ(StatusOf(*a).state, AgentLinkState::kRefused);
  ASSERT_EQ(Alarms(), 1);
  EXPECT_EQ(events_[0].source_presented, "192.0.2.10:7000");
  EXPECT_EQ(events_[0].source_other, "198.51.100.20:7000");
  EXPECT_EQ(Htl(), HtlStatus::kDown);
  ASSERT_TRUE(b->PollOnce().ok());
  EXPECT_EQ(ntl::ToTlStatus(StatusOf(*b).last_error), TL_E_HTL_DOWN);
  // Neither copy can prove HTL for an application link any more.
  EXPECT_FALSE(a->ProofFor(kAppliance, RandomBytes(kExporterLen)).ok());
  EXPECT_FALSE(b->ProofFor(kAppliance, RandomBytes(kExporterLen)).ok());
  // A new token brings the genuine client back.
  CopyToken(Generate());
  ASSERT_TRUE(a->PollOnce().ok());
  EXPECT_EQ(StatusOf(*a).state, AgentLinkState::kUp);
  EXPECT_EQ(Htl(), HtlStatus::kUp);
}

TEST_F(AgentTest, DiskCloneWithoutARunningAgentCannotProveHtl) {
  auto ca = Connector("192.0.2.10:7000");
  MemorySecretStore store;
  auto a = NewAgent(ca.get(), &store);
  CopyToken(Generate());
  ASSERT_TRUE(a->PollOnce().ok());
  MemorySecretStore
      empty;  // the disk image holds no secret, and no token (deleted)
  auto cb = Connector("198.51.100.20:7000");
  auto clone = NewAgent(cb.get(), &empty);
  ASSERT_TRUE(clone->PollOnce().ok());
  EXPECT_EQ(StatusOf(*clone).state, AgentLinkState::kNoToken);
  EXPECT_EQ(
      ntl::ToTlStatus(clone->ProofFor(kAppliance, RandomBytes(32)).status()),
      TL_E_HTL_DOWN);
  EXPECT_EQ(Alarms(), 0);
}

TEST_F(AgentTest, TwoHundredAgentRestartsWithinTheGracePeriodRaiseNoAlarm) {
  // The secrets survive a restart only in a RuntimeSecretStore (tmpfs in
  // production).
  const std::string runtime = client_root_ + "/../run";
  absl::StatusOr<std::unique_ptr<RuntimeSecretStore>> first =
      RuntimeSecretStore::Open(runtime, /*allow_disk=*/true);
  ASSERT_TRUE(first.ok()) << first.status();
  {
    auto c = Connector("192.0.2.10:7000");
    auto agent = NewAgent(c.get(), first->get());
    CopyToken(Generate());
    ASSERT_TRUE(agent->PollOnce().ok());
    ASSERT_EQ(StatusOf(*agent).state, AgentLinkState::kUp);
    connectors_.clear();
  }
  std::mt19937 rng(1);
  for (int i = 0; i < 200; ++i) {
    // A new process: new store object, new connector; the old link is gone.
    absl::StatusOr<std::unique_ptr<RuntimeSecretStore>> store =
        RuntimeSecretStore::Open(runtime, true);
    ASSERT_TRUE(store.ok());
    auto c = Connector("192.0.2.10:" + std::to_string(7001 + i));
    // Some restarts are crashes right after the appliance answered: the reply
    // is lost.
    c->drop_reply = [&rng]() { return rng() % 4 == 0; };
    auto agent = NewAgent(c.get(), store->get());
    clock_.Advance(absl::Seconds(1 + rng() % 30));
    ASSERT_TRUE(agent->PollOnce().ok());
    ASSERT_NE(StatusOf(*agent).state, AgentLinkState::kRefused)
        << "restart " << i << ": " << StatusOf(*agent).last_error;
    ASSERT_NE(Htl(), HtlStatus::kDown) << "restart " << i;
    connectors_.clear();
  }
  EXPECT_EQ(Alarms(), 0);
  auto c = Connector("192.0.2.10:9999");
  auto agent = NewAgent(c.get(), first->get());
  ASSERT_TRUE(agent->PollOnce().ok());
  EXPECT_EQ(StatusOf(*agent).state, AgentLinkState::kUp);
  EXPECT_EQ(Htl(), HtlStatus::kUp);
}

TEST_F(AgentTest, LostHeartbeatRepliesRaiseNoAlarm) {
  auto c = Connector("192.0.2.10:7000");
  MemorySecretStore store;
  auto agent = NewAgent(c.get(), &store);
  CopyToken(Generate());
  ASSERT_TRUE(agent->PollOnce().ok());
  std::mt19937 rng(3);
  int dropped = 0;
  c->drop_reply = [&]() {
    const bool drop = rng() % 2 == 0;
    dropped += drop;
    return drop;
  };
  for (int i = 0; i < 200; ++i) {
    clock_.Advance(absl::Seconds(10));
    ASSERT_TRUE(agent->PollOnce().ok());
    ASSERT_NE(StatusOf(*agent).state, AgentLinkState::kRefused) << i;
  }
  EXPECT_GT(dropped, 50);
  c->drop_reply = nullptr;
  ASSERT_TRUE(agent->PollOnce().ok());
  EXPECT_EQ(StatusOf(*agent).state, AgentLinkState::kUp);
  EXPECT_EQ(Alarms(), 0);
  EXPECT_EQ(Htl(), HtlStatus::kUp);
}

TEST_F(AgentTest, ApplianceKilledAtRandomPointsRaisesNoAlarm) {
  auto c = Connector("192.0.2.10:7000");
  MemorySecretStore store;
  auto agent = NewAgent(c.get(), &store);
  const std::string token = Generate();
  RestartAppliance();
  CopyToken(token);
  std::mt19937 rng(11);
  // Kill after the state change but before the reply, at random, from the token
  // exchange on.
  c->drop_reply = [&]() { return rng() % 3 == 0; };
  for (int i = 0; i < 150; ++i) {
    ASSERT_TRUE(agent->PollOnce().ok());
    ASSERT_NE(StatusOf(*agent).state, AgentLinkState::kRefused)
        << i << ": " << StatusOf(*agent).last_error;
    clock_.Advance(absl::Seconds(1 + rng() % 20));
    if (rng() % 2 == 0) {
      agent->DropSession(kAppliance);  // the connection dies with the appliance
      RestartAppliance();
    }
  }
  c->drop_reply = nullptr;
  ASSERT_TRUE(agent->PollOnce().ok());
  EXPECT_EQ(StatusOf(*agent).state, AgentLinkState::kUp);
  EXPECT_FALSE(TokenFileExists());
  EXPECT_EQ(Alarms(), 0);
  EXPECT_EQ(Htl(), HtlStatus::kUp);
}

TEST_F(AgentTest, AgentGoneLongerThanTheGracePeriodTakesHtlDown) {
  {
    auto c = Connector("192.0.2.10:7000");
    MemorySecretStore store;
    auto agent = NewAgent(c.get(), &store);
    CopyToken(Generate());
    ASSERT_TRUE(agent->PollOnce().ok());
    connectors_.clear();
  }  // the agent and its link are gone
  clock_.Advance(absl::Seconds(59));
  appliance_->Tick();
  EXPECT_EQ(Htl(), HtlStatus::kGracePeriod);
  clock_.Advance(absl::Seconds(2));
  appliance_->Tick();
  EXPECT_EQ(Htl(), HtlStatus::kDown);
  ASSERT_FALSE(events_.empty());
  EXPECT_EQ(events_.back().kind, HtlEvent::Kind::kDown);
  EXPECT_EQ(Alarms(), 0);
}

TEST_F(AgentTest, RefusedTokensLeaveTheFileAndSayWhy) {
  auto c = Connector("192.0.2.10:7000");
  MemorySecretStore store;
  auto agent = NewAgent(c.get(), &store);
  CopyToken(Generate());
  clock_.Advance(absl::Seconds(301));
  ASSERT_TRUE(agent->PollOnce().ok());
  EXPECT_EQ(StatusOf(*agent).state, AgentLinkState::kRefused);
  EXPECT_EQ(ntl::ToTlStatus(StatusOf(*agent).last_error), TL_E_OTT_EXPIRED);
  EXPECT_TRUE(TokenFileExists());
  // The same file is not hammered at every poll; a new one is taken up.
  const int connects = c->connects;
  ASSERT_TRUE(agent->PollOnce().ok());
  CopyToken(Generate());
  ASSERT_TRUE(agent->PollOnce().ok());
  EXPECT_EQ(StatusOf(*agent).state, AgentLinkState::kUp);
  EXPECT_GE(c->connects, connects);
  // A stale (used) token file next to a live chain is removed and the chain
  // goes on.
  const std::string used = Generate();
  CopyToken(used);
  ASSERT_TRUE(agent->PollOnce().ok());
  CopyToken(used);
  ASSERT_TRUE(agent->PollOnce().ok());
  EXPECT_EQ(StatusOf(*agent).state, AgentLinkState::kUp)
      << StatusOf(*agent).last_error;
  EXPECT_FALSE(TokenFileExists());
  // ... but not silently: a used token coming back is worth a look.
  EXPECT_EQ(ntl::ToTlStatus(StatusOf(*agent).last_error), TL_E_OTT_USED);
  EXPECT_THAT(StatusOf(*agent).last_error.message(), HasSubstr("already used"));
}

// The guide's `mv myLunaClient.ott ./htl/myLunaSA.ott` for a server the
// configuration lists as mylunasa: host names ignore case, so does the file.
TEST_F(AgentTest, TakesUpATokenFileNamedInAnotherLetterCase) {
  auto connector = Connector("192.0.2.10:7000");
  MemorySecretStore store;
  auto agent = NewAgent(connector.get(), &store);
  const std::string path = client_root_ + "/htl/HSM1.ott";
  std::ofstream(path) << FormatTokenFile(Generate(), kClient);
  ASSERT_TRUE(agent->PollOnce().ok());
  EXPECT_EQ(StatusOf(*agent).state, AgentLinkState::kUp)
      << StatusOf(*agent).last_error;
  EXPECT_NE(::access(path.c_str(), F_OK), 0) << "the token file was kept";
}

TEST_F(AgentTest, SaysWhichFilesInHtlItIgnoresAndWhy) {
  auto connector = Connector("192.0.2.10:7000");
  MemorySecretStore store;
  auto agent = NewAgent(connector.get(), &store);
  // The token left under the client's name, as htl generateott wrote it.
  std::ofstream(client_root_ + "/htl/web1.ott")
      << FormatTokenFile(Generate(), kClient);
  ASSERT_TRUE(agent->PollOnce().ok());
  const AgentApplianceStatus st = StatusOf(*agent);
  EXPECT_EQ(st.state, AgentLinkState::kNoToken);
  EXPECT_THAT(st.last_error.message(), HasSubstr("web1.ott"));
  EXPECT_THAT(st.last_error.message(), HasSubstr("names no HTL server"));
  EXPECT_THAT(st.last_error.message(), HasSubstr("rename it to hsm1.ott"));
  EXPECT_EQ(connector->connects, 0);
  // Two files differing only by case: neither is presented.
  std::ofstream(client_root_ + "/htl/hsm1.ott") << "x";
  std::ofstream(client_root_ + "/htl/HSM1.ott") << "y";
  ASSERT_TRUE(agent->PollOnce().ok());
  EXPECT_EQ(ntl::ToTlStatus(StatusOf(*agent).last_error), TL_E_ALREADY_EXISTS);
  EXPECT_THAT(StatusOf(*agent).last_error.message(),
              HasSubstr("differ only by letter case"));
}

TEST_F(AgentTest, UnreachableApplianceKeepsTheSecretAndRetries) {
  auto c = Connector("192.0.2.10:7000");
  MemorySecretStore store;
  auto agent = NewAgent(c.get(), &store);
  CopyToken(Generate());
  ASSERT_TRUE(agent->PollOnce().ok());
  agent->DropSession(kAppliance);
  c->refuse_connect = true;
  ASSERT_TRUE(agent->PollOnce().ok());
  EXPECT_EQ(StatusOf(*agent).state, AgentLinkState::kRetrying);
  EXPECT_TRUE(agent->ProofFor(kAppliance, RandomBytes(32)).ok());
  c->refuse_connect = false;
  ASSERT_TRUE(agent->PollOnce().ok());
  EXPECT_EQ(StatusOf(*agent).state, AgentLinkState::kUp);
}

TEST_F(AgentTest, BackgroundThreadPollsUntilStopped) {
  auto c = Connector("192.0.2.10:7000");
  MemorySecretStore store;
  AgentOptions o;
  o.client_root = client_root_;
  o.appliances = {kAppliance};
  o.connector = c.get();
  o.store = &store;
  o.clock = &clock_;
  o.poll_interval = absl::Milliseconds(5);
  CopyToken(Generate());
  absl::StatusOr<std::unique_ptr<Agent>> agent = Agent::Create(o);
  ASSERT_TRUE(agent.ok());
  ASSERT_TRUE((*agent)->Start().ok());
  EXPECT_FALSE((*agent)->Start().ok());
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while ((*agent)->Status()[0].generation < 5 && absl::Now() < deadline) {
    absl::SleepFor(
        absl::Milliseconds(1));  // waiting with a deadline, not synchronising
  }
  EXPECT_GE((*agent)->Status()[0].generation, 5u);
  (*agent)->Stop();
  (*agent)->Stop();
}

TEST_F(AgentTest, RuntimeStoreRefusesADiskDirectory) {
  absl::StatusOr<bool> mem = IsMemoryFilesystem(client_root_);
  ASSERT_TRUE(mem.ok());
  if (*mem) GTEST_SKIP() << "TEST_TMPDIR is on tmpfs here";
  absl::StatusOr<std::unique_ptr<RuntimeSecretStore>> s =
      RuntimeSecretStore::Open(client_root_ + "/secrets");
  EXPECT_EQ(ntl::ToTlStatus(s.status()), TL_E_FAILED_PRECONDITION);
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("not on tmpfs"));
}

// The race behind the e2e test's old intermittent failure: the admin clears the
// chain and copies a voided token before the agent has heard of the clear, so
// one poll presents the token (refused) and then heartbeats the stale secret
// (refused too). The token's refusal is what the admin must see.
TEST_F(AgentTest, ARefusedTokenIsReportedEvenWhenTheHeldChainFailsToo) {
  std::unique_ptr<LoopbackConnector> conn = Connector("10.0.0.1");
  MemorySecretStore store;
  std::unique_ptr<Agent> agent = NewAgent(conn.get(), &store);
  ASSERT_NE(agent, nullptr);
  CopyToken(Generate());
  ASSERT_TRUE(agent->PollOnce().ok());
  ASSERT_EQ(StatusOf(*agent).state, AgentLinkState::kUp);

  ASSERT_TRUE(appliance_->Clear(kClient).ok());
  const std::string voided = Generate();
  Generate();
  CopyToken(voided);
  ASSERT_TRUE(agent->PollOnce().ok());
  const AgentApplianceStatus s = StatusOf(*agent);
  EXPECT_EQ(s.state, AgentLinkState::kRefused);
  EXPECT_EQ(ntl::ToTlStatus(s.last_error), TL_E_OTT_INVALID) << s.last_error;
  EXPECT_THAT(std::string(s.last_error.message()), HasSubstr("voided"));
  EXPECT_THAT(std::string(s.last_error.message()),
              HasSubstr("not established"));
}

// A store that cannot be read (a corrupt secret file on tmpfs, say).
class UnreadableStore : public SecretStore {
 public:
  absl::StatusOr<absl::optional<HeldSecret>> Get(absl::string_view) override {
    return ntl::Error(absl::StatusCode::kDataLoss, TL_E_DATA_LOSS,
                      "HTL secret file is corrupt");
  }
  absl::Status Put(absl::string_view, const HeldSecret&) override {
    return absl::OkStatus();
  }
  absl::Status Remove(absl::string_view) override { return absl::OkStatus(); }
};

TEST_F(AgentTest, AnUnreadableSecretStoreIsReportedNotHidden) {
  std::unique_ptr<LoopbackConnector> conn = Connector("10.0.0.1");
  UnreadableStore store;
  std::unique_ptr<Agent> agent = NewAgent(conn.get(), &store);
  ASSERT_NE(agent, nullptr);
  ASSERT_TRUE(agent->PollOnce().ok());
  const absl::Status& error = StatusOf(*agent).last_error;
  EXPECT_EQ(ntl::ToTlStatus(error), TL_E_DATA_LOSS) << error;
  EXPECT_THAT(std::string(error.message()), HasSubstr("corrupt"));
}

}  // namespace
}  // namespace trustlink::htl
