// Recovery after HTL goes Down, with links that the appliance closes the way
// ntlsd does: when a client's HTL goes Down (clone alarm, grace expiry, `htl
// clear`) the server sends goaway HTL_DOWN on every link of the client, and the
// agent reads it at its next call on that session. The admin's fix is a new
// token; the agent must take it up over a NEW session, and must not blame the
// token for the old session's goaway. (Found by tests/htl:htl_e2e_test.)
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "htl/agent.h"
#include "htl/appliance.h"
#include "htl/ott.h"
#include "htl/secret_store.h"
#include "htl/session.h"
#include "htl/testing/loopback.h"
#include "ntl/status.h"

namespace trustlink::htl {
namespace {

constexpr char kClient[] = "web1";
constexpr char kAppliance[] = "hsm1";

// ClosableSession behaves like the real framed session: once the server has
// closed it (goaway), every call returns the goaway's code and the session is
// dead. The goaway code is shared with the connector, which may outlive the
// session (the agent destroys sessions it gives up on).
class ClosableSession : public HtlSession {
 public:
  ClosableSession(std::unique_ptr<HtlSession> inner,
                  std::shared_ptr<tl_status> goaway)
      : inner_(std::move(inner)), goaway_(std::move(goaway)) {}
  std::string Exporter() const override { return inner_->Exporter(); }
  absl::StatusOr<std::string> Call(uint32_t op,
                                   absl::string_view payload) override {
    if (*goaway_ != TL_OK) {
      return ntl::Error(absl::StatusCode::kFailedPrecondition, *goaway_,
                        "server 'hsm1' closed the link: HTL is Down");
    }
    return inner_->Call(op, payload);
  }

 private:
  std::unique_ptr<HtlSession> inner_;
  std::shared_ptr<tl_status> goaway_;
};

// ClosingConnector hands out ClosableSessions and can close them all, as the
// server closes every link of a client whose HTL went Down.
class ClosingConnector : public HtlConnector {
 public:
  explicit ClosingConnector(Appliance* appliance)
      : inner_(appliance, kClient, "192.0.2.10:7000") {}
  absl::StatusOr<std::unique_ptr<HtlSession>> Connect(
      absl::string_view appliance) override {
    absl::StatusOr<std::unique_ptr<HtlSession>> s = inner_.Connect(appliance);
    if (!s.ok()) return s.status();
    auto goaway = std::make_shared<tl_status>(TL_OK);
    sessions_.push_back(goaway);
    ++connects;
    return std::unique_ptr<HtlSession>(
        new ClosableSession(*std::move(s), std::move(goaway)));
  }
  // CloseAll sends goaway to every session handed out so far.
  void CloseAll(tl_status code) {
    for (const std::shared_ptr<tl_status>& s : sessions_) *s = code;
    sessions_.clear();
  }
  int connects = 0;

 private:
  testing::LoopbackConnector inner_;
  std::vector<std::shared_ptr<tl_status>> sessions_;
};

class AgentRecoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string base =
        std::string(std::getenv("TEST_TMPDIR")) + "/" +
        ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::system(("rm -rf '" + base + "'").c_str());
    ASSERT_EQ(::mkdir(base.c_str(), 0700), 0);
    client_root_ = base + "/client";
    ASSERT_EQ(::mkdir(client_root_.c_str(), 0700), 0);
    ASSERT_EQ(::mkdir((client_root_ + "/htl").c_str(), 0700), 0);
    Appliance::Options o;
    o.root = base + "/appliance";
    o.clock = &clock_;
    o.daemon = true;
    absl::StatusOr<std::unique_ptr<Appliance>> a = Appliance::Open(o);
    ASSERT_TRUE(a.ok()) << a.status();
    appliance_ = *std::move(a);
    connector_ = std::make_unique<ClosingConnector>(appliance_.get());
    AgentOptions ao;
    ao.client_root = client_root_;
    ao.appliances = {kAppliance};
    ao.connector = connector_.get();
    ao.store = &store_;
    ao.clock = &clock_;
    absl::StatusOr<std::unique_ptr<Agent>> agent = Agent::Create(ao);
    ASSERT_TRUE(agent.ok()) << agent.status();
    agent_ = *std::move(agent);
  }
  // A new token, copied by the admin into the client's htl/.
  void CopyNewToken() {
    absl::StatusOr<std::string> t =
        appliance_->GenerateOtt(kClient, absl::nullopt);
    ASSERT_TRUE(t.ok()) << t.status();
    std::ofstream(client_root_ + "/htl/" + kAppliance + ".ott")
        << FormatTokenFile(*t, kClient);
  }
  AgentApplianceStatus Status() { return agent_->Status().at(0); }
  void BringUp() {
    CopyNewToken();
    ASSERT_TRUE(agent_->PollOnce().ok());
    ASSERT_EQ(Status().state, AgentLinkState::kUp) << Status().last_error;
  }

  FakeClock clock_;
  std::string client_root_;
  std::unique_ptr<Appliance> appliance_;
  std::unique_ptr<ClosingConnector> connector_;
  MemorySecretStore store_;
  std::unique_ptr<Agent> agent_;
};

// The server closed the links before the agent's next poll, and the admin's
// new token is already there at that poll.
TEST_F(AgentRecoveryTest, NewTokenIsTakenUpAfterTheLinkWasClosedWithGoaway) {
  BringUp();
  ASSERT_TRUE(appliance_->Clear(kClient).ok());
  connector_->CloseAll(TL_E_HTL_DOWN);
  CopyNewToken();
  ASSERT_TRUE(agent_->PollOnce().ok());
  ASSERT_TRUE(agent_->PollOnce().ok());
  EXPECT_EQ(Status().state, AgentLinkState::kUp) << Status().last_error;
  EXPECT_EQ(appliance_->Show(kClient)->htl, HtlStatus::kUp);
}

// The heartbeat was refused first (HTL Down), then the server closed the
// link; the new token comes later.
TEST_F(AgentRecoveryTest, NewTokenIsTakenUpAfterARefusedHeartbeatAndGoaway) {
  BringUp();
  ASSERT_TRUE(appliance_->Clear(kClient).ok());
  ASSERT_TRUE(agent_->PollOnce().ok());
  EXPECT_EQ(Status().state, AgentLinkState::kRefused);
  EXPECT_EQ(ntl::ToTlStatus(Status().last_error), TL_E_HTL_DOWN);
  connector_->CloseAll(TL_E_HTL_DOWN);
  CopyNewToken();
  ASSERT_TRUE(agent_->PollOnce().ok());
  ASSERT_TRUE(agent_->PollOnce().ok());
  EXPECT_EQ(Status().state, AgentLinkState::kUp) << Status().last_error;
  EXPECT_EQ(appliance_->Show(kClient)->htl, HtlStatus::kUp);
}

// A token the appliance itself refuses is still not retried at every poll.
TEST_F(AgentRecoveryTest, ATokenTheApplianceRefusesIsNotRetried) {
  CopyNewToken();
  clock_.Advance(absl::Seconds(301));  // expired
  ASSERT_TRUE(agent_->PollOnce().ok());
  EXPECT_EQ(ntl::ToTlStatus(Status().last_error), TL_E_OTT_EXPIRED);
  const int connects = connector_->connects;
  ASSERT_TRUE(agent_->PollOnce().ok());
  ASSERT_TRUE(agent_->PollOnce().ok());
  EXPECT_EQ(connector_->connects, connects);
  EXPECT_EQ(ntl::ToTlStatus(Status().last_error), TL_E_OTT_EXPIRED);
}

}  // namespace
}  // namespace trustlink::htl
