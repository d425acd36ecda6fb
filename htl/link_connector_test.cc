// The agent's real connector against a real TLS server speaking htl/1 (the
// FakeServer with a real htl::Appliance behind it), on loopback.
#include "htl/link_connector.h"

#include <atomic>
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "htl/agent.h"
#include "htl/crypto.h"
#include "htl/messages.h"
#include "htl/secret_store.h"
#include "ntl/client/testing/htl_world.h"
#include "ntl/config_root.h"
#include "ntl/identity.h"
#include "ntl/status.h"

namespace trustlink::htl {
namespace {

using ntl::client::testing::FakeServerOptions;
using ntl::client::testing::HtlWorld;
using ntl::client::testing::kHtlServer;
using ntl::client::testing::ServerOptions;
using ::testing::HasSubstr;
using HtlReply = FakeServerOptions::HtlReply;

std::unique_ptr<Agent> NewAgent(HtlWorld& world, HtlConnector* connector,
                                SecretStore* store) {
  AgentOptions o;
  o.client_root = world.client_root();
  o.appliances = {kHtlServer};
  o.connector = connector;
  o.store = store;
  absl::StatusOr<std::unique_ptr<Agent>> a = Agent::Create(o);
  EXPECT_TRUE(a.ok()) << a.status();
  return a.ok() ? *std::move(a) : nullptr;
}

AgentApplianceStatus StatusOf(const Agent& agent) {
  return agent.Status().at(0);
}

// FaultOn makes server options whose htl_reply returns `fault` for the
// htl/1 requests numbered in `which` (1-based, counted over the server's
// life) and kSend otherwise.
FakeServerOptions FaultOn(std::shared_ptr<std::atomic<int>> counter,
                          std::function<bool(int)> which, HtlReply fault) {
  FakeServerOptions o = ServerOptions();
  o.htl_reply = [counter, which, fault](uint32_t) {
    return which(counter->fetch_add(1) + 1) ? fault : HtlReply::kSend;
  };
  // A delayed reply comes long after any call timeout here (the server stops
  // waiting once the client hangs up), so a slow host cannot make it on time.
  o.htl_delay = absl::Seconds(30);
  return o;
}

// kCallTimeout is the connector's per-call timeout in the tests that make a
// reply late: every call has it, and an honest call fsyncs the appliance's
// state, which on a busy disk under a sanitizer can take a good part of a
// second.
constexpr absl::Duration kCallTimeout = absl::Seconds(3);

TEST(LinkConnectorTest, AgentEstablishesAndHeartbeatsOverARealHtlLink) {
  HtlWorld world("establish");
  // The connector reads the client root, as htlclient's does: enrol it the
  // way vtl does, with the server marked -htl.
  absl::StatusOr<ntl::ClientRoot> root =
      ntl::ClientRoot::Open(world.client_root(), true);
  ASSERT_TRUE(root.ok()) << root.status();
  ASSERT_TRUE(
      root->CreateCert("client.test", ntl::IdentityOptions(), false).ok());
  ASSERT_TRUE(root->AddServer("127.0.0.1", ServerOptions().cert_pem,
                              world.server()->port(), true, false)
                  .ok());
  std::unique_ptr<HtlConnector> connector =
      NewLinkConnector(world.client_root());
  MemorySecretStore store;
  AgentOptions o;
  o.client_root = world.client_root();
  o.appliances = {"127.0.0.1"};
  o.connector = connector.get();
  o.store = &store;
  absl::StatusOr<std::unique_ptr<Agent>> agent = Agent::Create(o);
  ASSERT_TRUE(agent.ok()) << agent.status();

  ASSERT_TRUE((*agent)->PollOnce().ok());
  EXPECT_EQ(StatusOf(**agent).state, AgentLinkState::kNoToken);
  absl::StatusOr<std::string> token =
      world.appliance()->GenerateOtt(world.client_label(), absl::nullopt);
  ASSERT_TRUE(token.ok());
  std::ofstream(world.client_root() + "/htl/127.0.0.1.ott")
      << FormatTokenFile(*token, world.client_label());

  ASSERT_TRUE((*agent)->PollOnce().ok());
  EXPECT_EQ(StatusOf(**agent).state, AgentLinkState::kUp)
      << StatusOf(**agent).last_error;
  EXPECT_NE(
      ::access((world.client_root() + "/htl/127.0.0.1.ott").c_str(), F_OK), 0);
  EXPECT_EQ(world.Show().htl, HtlStatus::kUp);
  EXPECT_EQ(world.Show().ott, OttStatus::kInUse);
  EXPECT_EQ(world.Show().generation, StatusOf(**agent).generation);
  // Heartbeats ratchet the secret on the one kept session.
  const uint64_t g = StatusOf(**agent).generation;
  ASSERT_TRUE((*agent)->PollOnce().ok());
  ASSERT_TRUE((*agent)->PollOnce().ok());
  EXPECT_EQ(StatusOf(**agent).state, AgentLinkState::kUp);
  EXPECT_EQ(StatusOf(**agent).generation, g + 2);
  EXPECT_EQ(world.server()->htl_sessions(), 1);
  EXPECT_EQ(world.server()->htl_requests(), 4);  // establish + 3 heartbeats
  EXPECT_EQ(world.alarms(), 0);
}

TEST(LinkConnectorTest, SessionExporterIsTheServersAndEveryCallIsOneExchange) {
  HtlWorld world("exporter");
  std::unique_ptr<HtlConnector> connector =
      NewLinkConnectorForSettings(world.Settings(), absl::Seconds(5));
  absl::StatusOr<std::unique_ptr<HtlSession>> a =
      connector->Connect(kHtlServer);
  ASSERT_TRUE(a.ok()) << a.status();
  absl::StatusOr<std::unique_ptr<HtlSession>> b =
      connector->Connect(kHtlServer);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ((*a)->Exporter().size(), kExporterLen);
  EXPECT_NE((*a)->Exporter(), (*b)->Exporter());
  // A heartbeat before any chain exists: the appliance's refusal comes back
  // with its precise code, and the session stays usable.
  HeartbeatRequest junk;
  junk.generation = 1;
  junk.mac = RandomBytes(kMacLen);
  absl::StatusOr<std::string> r =
      (*a)->Call(kOpHeartbeat, EncodeHeartbeatRequest(junk));
  EXPECT_EQ(ntl::ToTlStatus(r.status()), TL_E_HTL_DOWN) << r.status();
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("generateott"));
  r = (*a)->Call(kOpHeartbeat, "not a heartbeat");
  EXPECT_EQ(ntl::ToTlStatus(r.status()), TL_E_PROTOCOL) << r.status();
  // An establish bound to session b's exporter but sent on a: refused, so
  // the binding the server checks is this session's own exporter.
  absl::StatusOr<std::string> token =
      world.appliance()->GenerateOtt(world.client_label(), absl::nullopt);
  ASSERT_TRUE(token.ok());
  EstablishRequest e;
  e.token = *token;
  e.binding =
      ComputeProof(ProofPurpose::kEstablish, *token, 0, (*b)->Exporter());
  r = (*a)->Call(kOpEstablish, EncodeEstablishRequest(e));
  EXPECT_EQ(ntl::ToTlStatus(r.status()), TL_E_OTT_INVALID) << r.status();
  e.binding =
      ComputeProof(ProofPurpose::kEstablish, *token, 0, (*a)->Exporter());
  r = (*a)->Call(kOpEstablish, EncodeEstablishRequest(e));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(DecodeGrant(*r).ok());
  EXPECT_EQ(world.server()->htl_requests(), 4);
}

TEST(LinkConnectorTest,
     CallThatTimesOutClosesItsSessionSoALateReplyIsNeverRead) {
  HtlWorld world("timeout",
                 FaultOn(
                     std::make_shared<std::atomic<int>>(0),
                     [](int n) { return n == 1; }, HtlReply::kDelay));
  std::unique_ptr<HtlConnector> connector =
      NewLinkConnectorForSettings(world.Settings(), kCallTimeout);
  absl::StatusOr<std::unique_ptr<HtlSession>> s =
      connector->Connect(kHtlServer);
  ASSERT_TRUE(s.ok()) << s.status();
  HeartbeatRequest junk;
  junk.generation = 1;
  junk.mac = RandomBytes(kMacLen);
  const absl::Time start = absl::Now();
  absl::StatusOr<std::string> r =
      (*s)->Call(kOpHeartbeat, EncodeHeartbeatRequest(junk));
  EXPECT_EQ(ntl::ToTlStatus(r.status()), TL_E_DEADLINE_EXCEEDED) << r.status();
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("never read"));
  // At the call timeout, not when the reply comes (30 s).
  EXPECT_LT(absl::Now() - start, kCallTimeout + absl::Seconds(5));
  // The next call on that session does not see the late reply: the session
  // is gone.
  r = (*s)->Call(kOpHeartbeat, EncodeHeartbeatRequest(junk));
  EXPECT_EQ(ntl::ToTlStatus(r.status()), TL_E_CONNECTION_LOST) << r.status();
}

TEST(LinkConnectorTest, AgentRecoversFromATimedOutHeartbeatWithoutAnAlarm) {
  // Request 3 is the first heartbeat after establish and its confirmation;
  // the appliance processes it (and issues a secret) but the reply comes
  // too late.
  HtlWorld world("recover",
                 FaultOn(
                     std::make_shared<std::atomic<int>>(0),
                     [](int n) { return n == 3; }, HtlReply::kDelay));
  std::unique_ptr<HtlConnector> connector =
      NewLinkConnectorForSettings(world.Settings(), kCallTimeout);
  MemorySecretStore store;
  auto agent = NewAgent(world, connector.get(), &store);
  world.CopyToken();
  ASSERT_TRUE(agent->PollOnce().ok());
  ASSERT_EQ(StatusOf(*agent).state, AgentLinkState::kUp)
      << StatusOf(*agent).last_error;
  const uint64_t held = StatusOf(*agent).generation;

  ASSERT_TRUE(agent->PollOnce().ok());
  EXPECT_EQ(StatusOf(*agent).state, AgentLinkState::kRetrying);
  EXPECT_EQ(ntl::ToTlStatus(StatusOf(*agent).last_error),
            TL_E_DEADLINE_EXCEEDED);
  // The appliance moved on (its reply is what was late, so it may still be at
  // it); the agent kept the secret it had (now `previous`).
  EXPECT_TRUE(ntl::client::testing::WaitFor([&] {
    return world.Show().generation == held + 1;
  })) << "the appliance is at generation "
      << world.Show().generation;
  absl::StatusOr<absl::optional<HeldSecret>> kept = store.Get(kHtlServer);
  ASSERT_TRUE(kept.ok() && kept->has_value());
  EXPECT_EQ((*kept)->generation, held);

  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(agent->PollOnce().ok());
    EXPECT_EQ(StatusOf(*agent).state, AgentLinkState::kUp)
        << StatusOf(*agent).last_error;
  }
  EXPECT_EQ(world.alarms(), 0);
  EXPECT_EQ(world.Show().htl, HtlStatus::kUp);
  EXPECT_EQ(world.server()->htl_sessions(), 2);
}

TEST(LinkConnectorTest, LostHeartbeatRepliesRaiseNoAlarm) {
  // Every other heartbeat after the confirmation loses its reply.
  HtlWorld world(
      "lost", FaultOn(
                  std::make_shared<std::atomic<int>>(0),
                  [](int n) { return n > 2 && n % 2 == 1; }, HtlReply::kDrop));
  std::unique_ptr<HtlConnector> connector =
      NewLinkConnectorForSettings(world.Settings(), absl::Seconds(5));
  MemorySecretStore store;
  auto agent = NewAgent(world, connector.get(), &store);
  world.CopyToken();
  ASSERT_TRUE(agent->PollOnce().ok());
  ASSERT_EQ(StatusOf(*agent).state, AgentLinkState::kUp);
  int lost = 0;
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(agent->PollOnce().ok());
    if (StatusOf(*agent).state == AgentLinkState::kRetrying) {
      ++lost;
      EXPECT_EQ(ntl::ToTlStatus(StatusOf(*agent).last_error),
                TL_E_CONNECTION_LOST);
    } else {
      EXPECT_EQ(StatusOf(*agent).state, AgentLinkState::kUp)
          << StatusOf(*agent).last_error;
    }
  }
  EXPECT_EQ(lost, 5);
  EXPECT_EQ(world.alarms(), 0);
  EXPECT_NE(world.Show().htl, HtlStatus::kDown);
}

TEST(LinkConnectorTest, RefusalsNameTheProblem) {
  HtlWorld world("refusals");
  // A server that is not in the configuration.
  std::unique_ptr<HtlConnector> connector =
      NewLinkConnectorForSettings(world.Settings(), absl::Seconds(5));
  absl::StatusOr<std::unique_ptr<HtlSession>> s = connector->Connect("hsm9");
  EXPECT_EQ(ntl::ToTlStatus(s.status()), TL_E_NOT_FOUND);
  EXPECT_THAT(std::string(s.status().message()),
              HasSubstr("tl_client_root_add_server"));
  // A server presenting another certificate than the pinned one.
  ntl::client::ClientSettings other = world.Settings();
  other.servers[0] = ntl::client::testing::Server(
      kHtlServer, world.server()->port(), "server_p256");
  s = NewLinkConnectorForSettings(other, absl::Seconds(5))->Connect(kHtlServer);
  EXPECT_EQ(ntl::ToTlStatus(s.status()), TL_E_CERT_PIN_MISMATCH) << s.status();
  // A server without a pinned certificate is never contacted.
  other.servers[0].pinned_cert_der.clear();
  s = NewLinkConnectorForSettings(other, absl::Seconds(5))->Connect(kHtlServer);
  EXPECT_EQ(ntl::ToTlStatus(s.status()), TL_E_TRUST_STORE_INCONSISTENT);
  const int accepted = world.server()->accepted();
  EXPECT_EQ(accepted, 1);
}

TEST(LinkConnectorTest, GoawayEndsTheSessionWithTheServersCode) {
  // The appliance refuses HTL for a client not registered -requirehtl.
  FakeServerOptions o = ServerOptions();
  o.goaway_status = TL_E_HTL_REQUIRED_BY_CLIENT;
  o.goaway_message =
      "client 'client.test' is not registered with -requirehtl; register it "
      "with -requirehtl, or drop -htl on the client";
  HtlWorld world("goaway", o);
  std::unique_ptr<HtlConnector> connector =
      NewLinkConnectorForSettings(world.Settings(), absl::Seconds(5));
  absl::StatusOr<std::unique_ptr<HtlSession>> s =
      connector->Connect(kHtlServer);
  ASSERT_TRUE(s.ok()) << s.status();
  HeartbeatRequest junk;
  junk.generation = 1;
  junk.mac = RandomBytes(kMacLen);
  absl::StatusOr<std::string> r =
      (*s)->Call(kOpHeartbeat, EncodeHeartbeatRequest(junk));
  EXPECT_EQ(ntl::ToTlStatus(r.status()), TL_E_HTL_REQUIRED_BY_CLIENT)
      << r.status();
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("-requirehtl"));
  r = (*s)->Call(kOpHeartbeat, EncodeHeartbeatRequest(junk));
  EXPECT_EQ(ntl::ToTlStatus(r.status()), TL_E_CONNECTION_LOST) << r.status();
  EXPECT_EQ(world.server()->htl_requests(), 0);
}

TEST(LinkConnectorTest, ServerThatDoesNotServeHtlSaysSo) {
  // A server without HTL support accepts only ntl/1.
  auto server = ntl::client::testing::FakeServer::Start(ServerOptions());
  ASSERT_TRUE(server.ok());
  ntl::client::ClientSettings s = ntl::client::testing::Settings();
  s.servers.push_back(
      ntl::client::testing::Server(kHtlServer, (*server)->port()));
  absl::StatusOr<std::unique_ptr<HtlSession>> session =
      NewLinkConnectorForSettings(s, absl::Seconds(5))->Connect(kHtlServer);
  ASSERT_FALSE(session.ok());
  EXPECT_EQ(ntl::ToTlStatus(session.status()), TL_E_TLS_HANDSHAKE)
      << session.status();
  EXPECT_THAT(std::string(session.status().message()), HasSubstr("ALPN"));
}

}  // namespace
}  // namespace trustlink::htl
