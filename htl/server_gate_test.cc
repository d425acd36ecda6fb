// The HTL through the real NTLS server: htl/1 links and the htl-proof
// admission of ntl/1 links (docs/htl.md, "Frames" and "Integration").

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

TEST_F(ServerGateTest, EstablishAndHeartbeatOverHtl1) {
  StartServer();
  auto link = HtlLink();
  ASSERT_NE(link, nullptr);
  Agent agent = Enrolled(link.get());
  ASSERT_FALSE(HasFailure());
  const uint64_t first = agent.generation;
  ASSERT_EQ(Heartbeat(link.get(), &agent), TL_OK);
  EXPECT_GT(agent.generation, first);
  auto view = appliance_->Show("web1");
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->htl, HtlStatus::kUp);
  EXPECT_EQ(view->ott, OttStatus::kInUse);
  EXPECT_THAT(view->link_source, HasSubstr("127.0.0.1:"));
  EXPECT_TRUE(log_.Contains("admitted-htl", "client='web1'"));
}

TEST_F(ServerGateTest, HtlRefusalsKeepTheirCodes) {
  StartServer();
  auto link = HtlLink();
  ASSERT_NE(link, nullptr);
  Agent agent = Enrolled(link.get());
  ASSERT_FALSE(HasFailure());
  // A junk proof: refused, not an alarm.
  Agent junk{agent.generation, RandomBytes(kSecretLen)};
  EXPECT_EQ(Heartbeat(link.get(), &junk), TL_E_UNAUTHENTICATED);
  // The token again, after confirmation.
  auto used = CallHtl(link.get(), kOpEstablish, "short");
  ASSERT_TRUE(used.ok());
  EXPECT_EQ(used->first, TL_E_PROTOCOL);
  auto bad_op = CallHtl(link.get(), 9, "");
  ASSERT_TRUE(bad_op.ok());
  EXPECT_EQ(bad_op->first, TL_E_INVALID_ARGUMENT);
  EXPECT_THAT(bad_op->second, HasSubstr("op 9"));
  EXPECT_EQ(Heartbeat(link.get(), &agent), TL_OK);
  auto alerts = appliance_->Alerts();
  ASSERT_TRUE(alerts.ok());
  EXPECT_TRUE(alerts->empty());
}

TEST_F(ServerGateTest, HtlLinkOfClientWithoutRequireHtlIsRefused) {
  StartServer();
  auto link = Connect(Opts(false, "htl/1"));
  ASSERT_NE(link, nullptr);
  ExpectGoAway(link.get(), TL_E_HTL_REQUIRED_BY_CLIENT, "require-HTL");
}

TEST_F(ServerGateTest, WithoutAGateHtlClientsAreToldSo) {
  StartServer(/*with_gate=*/false);
  auto link = HtlLink();
  ASSERT_NE(link, nullptr);
  ExpectGoAway(link.get(), TL_E_UNAVAILABLE, "no HTL state");
  auto app = Connect(Opts(true));
  ASSERT_NE(app, nullptr);
  auto f = SendHelloAndProof(app.get(), "");
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_EQ(f->type, wire::FrameType::kGoAway);
}

TEST_F(ServerGateTest, HelloBitTable) {
  StartServer();
  // requirehtl, bit clear.
  {
    auto c = Connect(Opts(true));
    ASSERT_NE(c, nullptr);
    auto f = c->Hello(0);
    ASSERT_TRUE(f.ok()) << f.status();
    ASSERT_EQ(f->type, wire::FrameType::kGoAway);
    auto cl = wire::DecodeClosing(f->payload);
    ASSERT_TRUE(cl.ok());
    EXPECT_EQ(cl->status, TL_E_HTL_REQUIRED_BY_APPLIANCE);
    EXPECT_THAT(cl->message, HasSubstr("register the server with HTL"));
  }
  // Not requirehtl, bit set.
  {
    auto c = Connect(Opts(false));
    ASSERT_NE(c, nullptr);
    auto f = c->Hello(kHelloFeatureHtl);
    ASSERT_TRUE(f.ok()) << f.status();
    ASSERT_EQ(f->type, wire::FrameType::kGoAway);
    auto cl = wire::DecodeClosing(f->payload);
    ASSERT_TRUE(cl.ok());
    EXPECT_EQ(cl->status, TL_E_HTL_REQUIRED_BY_CLIENT);
    EXPECT_THAT(cl->message, HasSubstr("register the client with require-HTL"));
  }
  // Neither: admitted as before.
  {
    auto c = Connect(Opts(false));
    ASSERT_NE(c, nullptr);
    auto f = c->Hello(0);
    ASSERT_TRUE(f.ok()) << f.status();
    EXPECT_EQ(f->type, wire::FrameType::kWelcome);
  }
  // Both, with a valid proof: welcome, and the link works.
  auto link = HtlLink();
  ASSERT_NE(link, nullptr);
  Agent agent = Enrolled(link.get());
  ASSERT_FALSE(HasFailure());
  auto app = AppLink(agent);
  ASSERT_NE(app, nullptr);
  auto echo = app->Call("p1", 1, "hello");
  ASSERT_TRUE(echo.ok()) << echo.status();
  EXPECT_EQ(echo->first, TL_OK);
  EXPECT_TRUE(log_.Contains("admitted peer=", "htl=proven"));
}

TEST_F(ServerGateTest, BothWithoutAnEnrolledHtlIsDown) {
  StartServer();
  auto c = Connect(Opts(true));
  ASSERT_NE(c, nullptr);
  Agent nobody{1, RandomBytes(kSecretLen)};
  auto f = SendHelloAndProof(c.get(), ProofFor(nobody, Exporter(*c)));
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_EQ(f->type, wire::FrameType::kGoAway);
  auto cl = wire::DecodeClosing(f->payload);
  ASSERT_TRUE(cl.ok());
  EXPECT_EQ(cl->status, TL_E_HTL_DOWN);
  EXPECT_THAT(cl->message, HasSubstr("generateott"));
}

TEST_F(ServerGateTest, RequestPipelinedAfterTheProofRunsAfterWelcome) {
  StartServer();
  auto link = HtlLink();
  ASSERT_NE(link, nullptr);
  Agent agent = Enrolled(link.get());
  ASSERT_FALSE(HasFailure());
  auto c = Connect(Opts(true));
  ASSERT_NE(c, nullptr);
  wire::Hello h;
  h.features = kHelloFeatureHtl;
  std::string bytes;
  wire::AppendFrame(wire::FrameType::kHello, 0, 0, wire::EncodeHello(h),
                    &bytes);
  wire::AppendFrame(wire::FrameType::kHtlProof, 0, 0,
                    ProofFor(agent, Exporter(*c)), &bytes);
  wire::Request r;
  r.partition = "p1";
  r.op = 1;  // echo
  r.data = "pipelined";
  wire::AppendFrame(wire::FrameType::kRequest, 0, 7, wire::EncodeRequest(r),
                    &bytes);
  ASSERT_TRUE(c->SendRaw(bytes).ok());
  auto w = c->Read();
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->type, wire::FrameType::kWelcome);
  auto resp = c->Read();
  ASSERT_TRUE(resp.ok()) << resp.status();
  ASSERT_EQ(resp->type, wire::FrameType::kResponse);
  EXPECT_EQ(resp->id, 7u);
  auto decoded = wire::DecodeResponse(resp->payload);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->status, TL_OK);
  EXPECT_EQ(decoded->data, "pipelined");
}

TEST_F(ServerGateTest, ProofFromAnotherTlsSessionIsRefused) {
  StartServer();
  auto link = HtlLink();
  ASSERT_NE(link, nullptr);
  Agent agent = Enrolled(link.get());
  ASSERT_FALSE(HasFailure());
  auto first = Connect(Opts(true));
  auto second = Connect(Opts(true));
  ASSERT_TRUE(first && second);
  ASSERT_NE(Exporter(*first), Exporter(*second));
  auto f = SendHelloAndProof(second.get(), ProofFor(agent, Exporter(*first)));
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_EQ(f->type, wire::FrameType::kGoAway);
  auto cl = wire::DecodeClosing(f->payload);
  ASSERT_TRUE(cl.ok());
  EXPECT_EQ(cl->status, TL_E_UNAUTHENTICATED);
  EXPECT_THAT(cl->message, HasSubstr("does not verify for this link"));
  auto alerts = appliance_->Alerts();
  ASSERT_TRUE(alerts.ok());
  EXPECT_TRUE(alerts->empty()) << "a stale link proof is not an alarm";
}

TEST_F(ServerGateTest, MissingProofFrameIsRefused) {
  StartServer();
  auto c = Connect(Opts(true));
  ASSERT_NE(c, nullptr);
  wire::Hello h;
  h.features = kHelloFeatureHtl;
  ASSERT_TRUE(c->Send(wire::FrameType::kHello, 0, wire::EncodeHello(h)).ok());
  wire::Request r;
  r.partition = "p1";
  r.op = 1;
  ASSERT_TRUE(
      c->Send(wire::FrameType::kRequest, 1, wire::EncodeRequest(r)).ok());
  ExpectGoAway(c.get(), TL_E_PROTOCOL, "htl-proof");
}

TEST_F(ServerGateTest, ResumedLinkNeedsAProofForItsOwnSession) {
  StartServer();
  auto link = HtlLink();
  ASSERT_NE(link, nullptr);
  Agent agent = Enrolled(link.get());
  ASSERT_FALSE(HasFailure());
  auto full = AppLink(agent);
  ASSERT_NE(full, nullptr);
  ASSERT_TRUE(full->Call("p1", 1, "x").ok());  // reads the session ticket
  ASSERT_NE(full->session(), nullptr);
  const std::string full_exporter = Exporter(*full);

  TestClientOptions o = Opts(true);
  o.session = full->session();
  auto resumed = Connect(o);
  ASSERT_NE(resumed, nullptr);
  ASSERT_TRUE(resumed->resumed());
  ASSERT_NE(Exporter(*resumed), full_exporter)
      << "the exporter must differ for a resumed session";
  auto f = SendHelloAndProof(resumed.get(), ProofFor(agent, full_exporter));
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_EQ(f->type, wire::FrameType::kGoAway);
  auto cl = wire::DecodeClosing(f->payload);
  ASSERT_TRUE(cl.ok());
  EXPECT_EQ(cl->status, TL_E_UNAUTHENTICATED);

  auto again = Connect(o);
  ASSERT_NE(again, nullptr);
  ASSERT_TRUE(again->resumed());
  auto ok = SendHelloAndProof(again.get(), ProofFor(agent, Exporter(*again)));
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->type, wire::FrameType::kWelcome);
}

}  // namespace
}  // namespace trustlink::htl::testing
