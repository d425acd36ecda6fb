// Application links to HTL servers (docs/htl.md, "Frames"): after every
// handshake the client asks the local HTL agent for a proof bound to that TLS
// session and sends it as an htl-proof frame right after hello; the server
// (the FakeServer with a real htl::Appliance) admits the link only if
// Appliance::CheckLinkProof accepts it. The agent is the real one, on the real
// htl/1 connector and the real proof socket.
#include <memory>
#include <string>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "htl/agent.h"
#include "htl/crypto.h"
#include "htl/link_connector.h"
#include "htl/proof_service.h"
#include "htl/secret_store.h"
#include "ntl/client/client.h"
#include "ntl/client/testing/htl_world.h"
#include "ntl/client/verify.h"
#include "ntl/status.h"

namespace trustlink::ntl::client {
namespace {

using ::testing::HasSubstr;
using testing::HtlWorld;
using testing::kHtlServer;
using testing::WaitFor;

constexpr uint32_t kEcho = testing::kOpEcho;

absl::Time In(absl::Duration d) { return absl::Now() + d; }

// AgentHost is htlclient in miniature: an agent on the real connector, with
// its proof service on the world's socket.
struct AgentHost {
  explicit AgentHost(HtlWorld& world) {
    connector =
        htl::NewLinkConnectorForSettings(world.Settings(), absl::Seconds(5));
    htl::AgentOptions o;
    o.client_root = world.client_root();
    o.appliances = {kHtlServer};
    o.connector = connector.get();
    o.store = &store;
    agent = htl::Agent::Create(o).value();
    htl::Agent* a = agent.get();
    service = htl::ProofService::Start(
                  world.ProofSocket(),
                  [a](absl::string_view appliance, absl::string_view exporter) {
                    return a->ProofFor(appliance, exporter);
                  })
                  .value();
  }
  std::unique_ptr<htl::HtlConnector> connector;
  htl::MemorySecretStore store;
  std::unique_ptr<htl::Agent> agent;
  std::unique_ptr<htl::ProofService> service;
};

TEST(HtlLinkTest,
     ProofFollowsHelloOnEveryHandshakeAndIsAcceptedByTheAppliance) {
  HtlWorld world("admitted");
  AgentHost host(world);
  world.CopyToken();
  ASSERT_TRUE(host.agent->PollOnce().ok());
  ASSERT_EQ(host.agent->Status()[0].state, htl::AgentLinkState::kUp);

  absl::StatusOr<std::unique_ptr<Client>> client =
      Client::Create(world.Settings());
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_EQ((*client)->Slots().size(), 1u)
      << (*client)->Servers()[0].last_error;
  EXPECT_EQ(world.server()->last_hello_features(), 1u);
  EXPECT_EQ(world.server()->link_proofs_ok(), 1);
  EXPECT_TRUE((*client)->Call(0, kEcho, "x", In(absl::Seconds(5))).ok());

  // A reconnect (resumed TLS session) proves again, over its own exporter,
  // after the agent's secret moved on by a heartbeat.
  ASSERT_TRUE(host.agent->PollOnce().ok());
  world.server()->DropConnections();
  ASSERT_TRUE(WaitFor([&]() { return world.server()->link_proofs_ok() == 2; }))
      << (*client)->Servers()[0].last_error;
  ASSERT_TRUE(WaitFor(
      [&]() { return (*client)->Slots()[0].state == SlotState::kReady; }));
  EXPECT_TRUE((*client)->Servers()[0].resumed);
  EXPECT_GE(world.server()->resumed(), 1);
  EXPECT_TRUE((*client)->Call(0, kEcho, "y", In(absl::Seconds(5))).ok());
  EXPECT_EQ(world.server()->link_proofs_refused(), 0);
  EXPECT_EQ(world.alarms(), 0);
}

TEST(HtlLinkTest, WithoutLibraryThreadsTheCallerOfProcessAsksTheAgent) {
  HtlWorld world("nothreads");
  AgentHost host(world);
  world.CopyToken();
  ASSERT_TRUE(host.agent->PollOnce().ok());
  ClientSettings s = world.Settings();
  s.use_io_thread = false;
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Create(s);
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE(WaitFor([&]() {
    (void)(*client)->Process(absl::Milliseconds(20));
    return (*client)->Servers()[0].state == LinkState::kReady;
  })) << (*client)->Servers()[0].last_error;
  EXPECT_EQ(world.server()->link_proofs_ok(), 1);
  EXPECT_TRUE((*client)->Call(0, kEcho, "x", In(absl::Seconds(5))).ok());
}

TEST(HtlLinkTest, NoAgentGivesAgentUnavailableThatSaysToStartHtlclient) {
  HtlWorld world("noagent");
  ClientSettings s = world.Settings();
  s.reconnect = false;
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Create(s);
  ASSERT_TRUE(client.ok()) << client.status();
  const ServerStatus st = (*client)->Servers()[0];
  EXPECT_NE(st.state, LinkState::kReady);
  EXPECT_EQ(ToTlStatus(st.last_error), TL_E_HTL_AGENT_UNAVAILABLE)
      << st.last_error;
  EXPECT_THAT(std::string(st.last_error.message()),
              HasSubstr("start the HTL agent"));
  EXPECT_THAT(std::string(st.last_error.message()),
              HasSubstr(world.ProofSocket()));
  // The hello went out with an empty proof, so that an appliance that does
  // not require HTL could say so (TL_E_HTL_REQUIRED_BY_CLIENT names the fix);
  // this one requires it, refused the proof, and the missing agent is the
  // error.
  EXPECT_EQ(world.server()->link_proofs_ok(), 0);
  EXPECT_EQ(world.server()->link_proofs_refused(), 1);
  EXPECT_THAT(std::string(st.last_error.message()),
              HasSubstr("the appliance requires HTL"));

  // vtl verify reports the same code and message.
  absl::StatusOr<std::vector<VerifyResult>> r =
      Verify(world.Settings(), absl::Seconds(5));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)[0].code, TL_E_HTL_AGENT_UNAVAILABLE) << (*r)[0].message;
  EXPECT_THAT((*r)[0].message, HasSubstr("start the HTL agent"));
}

TEST(HtlLinkTest, AgentWithoutHtlForTheServerSaysWhichTokenIsMissing) {
  HtlWorld world("notoken");
  AgentHost host(world);
  ClientSettings s = world.Settings();
  s.reconnect = false;
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Create(s);
  ASSERT_TRUE(client.ok()) << client.status();
  const ServerStatus st = (*client)->Servers()[0];
  EXPECT_EQ(ToTlStatus(st.last_error), TL_E_HTL_DOWN) << st.last_error;
  EXPECT_THAT(std::string(st.last_error.message()), HasSubstr("hsm1.ott"));
}

TEST(HtlLinkTest, ProofTheApplianceDoesNotAcceptEndsTheLinkWithItsCode) {
  HtlWorld world("junkproof");
  world.CopyToken();
  {
    AgentHost host(world);  // bring HTL up, then stop this agent
    ASSERT_TRUE(host.agent->PollOnce().ok());
  }
  // An "agent" that answers with a proof under no issued secret.
  auto service = htl::ProofService::Start(
      world.ProofSocket(), [](absl::string_view, absl::string_view) {
        htl::LinkProof p;
        p.generation = 1;
        p.mac = htl::RandomBytes(htl::kMacLen);
        return absl::StatusOr<htl::LinkProof>(p);
      });
  ASSERT_TRUE(service.ok()) << service.status();
  ClientSettings s = world.Settings();
  s.reconnect = false;
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Create(s);
  ASSERT_TRUE(client.ok()) << client.status();
  const ServerStatus st = (*client)->Servers()[0];
  EXPECT_EQ(ToTlStatus(st.last_error), TL_E_UNAUTHENTICATED) << st.last_error;
  EXPECT_EQ(world.server()->link_proofs_refused(), 1);
  EXPECT_EQ(world.alarms(), 0);  // a bad link proof is never an alarm
}

TEST(HtlLinkTest, ProofRequestIsBoundedWhenTheAgentDoesNotAnswer) {
  HtlWorld world("hung");
  // A socket that accepts but never answers: the I/O thread must not wait
  // for ever. The agent hangs until the test ends, far past any bound below.
  absl::Notification test_done;
  auto service = htl::ProofService::Start(
      world.ProofSocket(), [&](absl::string_view, absl::string_view) {
        test_done.WaitForNotificationWithTimeout(absl::Seconds(60));
        return absl::StatusOr<htl::LinkProof>(absl::UnavailableError("late"));
      });
  ASSERT_TRUE(service.ok());
  ClientSettings s = world.Settings();
  s.reconnect = false;
  s.htl_proof_timeout = absl::Milliseconds(300);
  const absl::Time start = absl::Now();
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Create(s);
  ASSERT_TRUE(client.ok()) << client.status();
  const ServerStatus st = (*client)->Servers()[0];
  // The proof timeout is 300 ms; the bound leaves room for a sanitizer on a
  // busy host.
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  EXPECT_EQ(ToTlStatus(st.last_error), TL_E_HTL_AGENT_UNAVAILABLE)
      << st.last_error;
  test_done.Notify();
}

}  // namespace
}  // namespace trustlink::ntl::client
