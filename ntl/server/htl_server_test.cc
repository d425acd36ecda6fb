// The server's side of the HTL seam with a fake HtlGate: the gate's blocking
// calls stay off the event loop, link closes and events reach the right
// places, and the gate is ticked. htl/server_gate_test drives the real HTL.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "ntl/internal/mutex.h"
#include "ntl/server/htl_gate.h"
#include "ntl/server/server.h"
#include "ntl/server/server_fixture.h"
#include "ntl/server/software_partition.h"
#include "ntl/server/test_client.h"
#include "ntl/status.h"
#include "ntl/wire/messages.h"
#include "trustlink/base.h"

namespace trustlink::ntl::server {
namespace {

using testing::ClientIdentity;
using testing::ClientOptions;
using testing::FixtureServerCredentials;
using testing::Frame;
using testing::LoadClientIdentity;
using testing::TestClient;
using testing::TestClientOptions;
using testing::WaitFor;

// FakeGate admits the proof "good", holds CheckLinkProof while `held`, and
// records what the server told it.
class FakeGate : public HtlGate {
 public:
  absl::StatusOr<std::string> Binding(const SSL*) override {
    return std::string("binding");
  }
  absl::StatusOr<std::string> HandleRequest(absl::string_view client,
                                            const HtlLinkInfo& link,
                                            uint32_t op,
                                            absl::string_view data) override {
    internal::MutexLock lock(&mu_);
    request_links_.push_back(link.id);
    return absl::StrCat("grant:", client, ":", op, ":", data);
  }
  void LinkClosed(absl::string_view, absl::string_view link_id) override {
    internal::MutexLock lock(&mu_);
    closed_links_.emplace_back(link_id);
  }
  absl::Status CheckLinkProof(absl::string_view, absl::string_view,
                              absl::string_view proof) override {
    internal::MutexLock lock(&mu_);
    while (held_) {
      cv_.Wait(&mu_);
    }
    if (proof == "good") {
      return absl::OkStatus();
    }
    return Error(absl::StatusCode::kUnauthenticated, TL_E_UNAUTHENTICATED,
                 "fake proof refused");
  }
  void Tick() override {
    internal::MutexLock lock(&mu_);
    ++ticks_;
  }
  void SetListener(std::function<void(const HtlGateEvent&)> l) override {
    internal::MutexLock lock(&mu_);
    listener_ = std::move(l);
  }

  void Hold(bool held) {
    {
      internal::MutexLock lock(&mu_);
      held_ = held;
    }
    cv_.SignalAll();
  }
  void Fire(const HtlGateEvent& e) {
    std::function<void(const HtlGateEvent&)> l;
    {
      internal::MutexLock lock(&mu_);
      l = listener_;
    }
    ASSERT_TRUE(l) << "the server installed no listener";
    l(e);
  }
  int ticks() {
    internal::MutexLock lock(&mu_);
    return ticks_;
  }
  std::vector<std::string> request_links() {
    internal::MutexLock lock(&mu_);
    return request_links_;
  }
  std::vector<std::string> closed_links() {
    internal::MutexLock lock(&mu_);
    return closed_links_;
  }

 private:
  internal::Mutex mu_;
  internal::CondVar cv_;
  bool held_ ABSL_GUARDED_BY(mu_) = false;
  int ticks_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::string> request_links_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> closed_links_ ABSL_GUARDED_BY(mu_);
  std::function<void(const HtlGateEvent&)> listener_ ABSL_GUARDED_BY(mu_);
};

class HtlServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    web_ = LoadClientIdentity("client_ed25519");
    db_ = LoadClientIdentity("client_p256");
    directory_ = std::make_shared<InMemoryDirectory>();
    directory_->Put(Record("web1", web_.fingerprint, true));
    directory_->Put(Record("db1", db_.fingerprint, false));
    auto cred = FixtureServerCredentials();
    ASSERT_TRUE(cred.ok()) << cred.status();
    gate_ = std::make_shared<FakeGate>();
    ServerOptions o;
    o.listen_address = "127.0.0.1";
    o.port = 0;
    o.threads = 1;  // one loop: a blocked loop would block everyone
    o.htl_tick = absl::Milliseconds(50);
    o.log = [](absl::string_view) {};
    auto s = Server::Create(o, directory_, *cred);
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::move(*s);
    server_->SetPartitionHandler(std::make_shared<SoftwarePartitionHandler>());
    server_->SetHtlGate(gate_);
    ASSERT_TRUE(server_->Start().ok());
  }

  void TearDown() override {
    gate_->Hold(false);
    server_->Shutdown(absl::Seconds(2));
  }

  static ClientRecord Record(const std::string& label, const std::string& fp,
                             bool require_htl) {
    ClientRecord r;
    r.label = label;
    r.fingerprint = fp;
    r.allowed_ips = {"127.0.0.1"};
    r.require_htl = require_htl;
    r.partitions = {{"p1", "Partition One", "1001"}};
    return r;
  }

  std::unique_ptr<TestClient> Connect(bool web, const std::string& alpn) {
    TestClientOptions o = ClientOptions(web ? web_ : db_);
    o.alpn = alpn;
    auto c = TestClient::Connect(server_->port(), o);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? std::move(*c) : nullptr;
  }

  static absl::Status SendHelloAndProof(TestClient* c,
                                        const std::string& proof) {
    wire::Hello h;
    h.features = kHelloFeatureHtl;
    absl::Status st = c->Send(wire::FrameType::kHello, 0, wire::EncodeHello(h));
    if (!st.ok()) return st;
    return c->Send(wire::FrameType::kHtlProof, 0, proof);
  }

  ClientIdentity web_, db_;
  std::shared_ptr<InMemoryDirectory> directory_;
  std::shared_ptr<FakeGate> gate_;
  std::unique_ptr<Server> server_;
};

TEST_F(HtlServerTest, SlowProofCheckDoesNotBlockTheEventLoop) {
  gate_->Hold(true);
  auto htl = Connect(true, "ntl/1");
  ASSERT_NE(htl, nullptr);
  ASSERT_TRUE(SendHelloAndProof(htl.get(), "good").ok());
  // While the gate sits on the proof, the only loop still serves others.
  auto plain = Connect(false, "ntl/1");
  ASSERT_NE(plain, nullptr);
  auto w = plain->Hello();
  ASSERT_TRUE(w.ok()) << w.status();
  ASSERT_EQ(w->type, wire::FrameType::kWelcome);
  auto echo = plain->Call("p1", kOpEcho, "served");
  ASSERT_TRUE(echo.ok()) << echo.status();
  EXPECT_EQ(echo->second, "served");
  gate_->Hold(false);
  auto hw = htl->Read();
  ASSERT_TRUE(hw.ok()) << hw.status();
  EXPECT_EQ(hw->type, wire::FrameType::kWelcome);
}

TEST_F(HtlServerTest, RefusedProofGetsTheGatesCodeAndMessage) {
  auto c = Connect(true, "ntl/1");
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(SendHelloAndProof(c.get(), "bad").ok());
  auto f = c->Read();
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_EQ(f->type, wire::FrameType::kGoAway);
  auto cl = wire::DecodeClosing(f->payload);
  ASSERT_TRUE(cl.ok());
  EXPECT_EQ(cl->status, TL_E_UNAUTHENTICATED);
  EXPECT_EQ(cl->message, "fake proof refused");
}

TEST_F(HtlServerTest, HtlLinkRequestsAndCloseReachTheGateWithOneLinkId) {
  auto link = Connect(true, "htl/1");
  ASSERT_NE(link, nullptr);
  auto r = link->Call("", 2, "hb");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->first, TL_OK);
  EXPECT_EQ(r->second, "grant:web1:2:hb");
  link.reset();
  ASSERT_TRUE(WaitFor([&] { return !gate_->closed_links().empty(); },
                      absl::Seconds(5)));
  ASSERT_EQ(gate_->request_links().size(), 1u);
  EXPECT_EQ(gate_->closed_links(), gate_->request_links());
}

TEST_F(HtlServerTest, DownEventClosesOnlyThatClientsHtlLinks) {
  auto htl_link = Connect(true, "htl/1");
  auto app = Connect(true, "ntl/1");
  auto plain = Connect(false, "ntl/1");
  ASSERT_TRUE(htl_link && app && plain);
  ASSERT_TRUE(SendHelloAndProof(app.get(), "good").ok());
  auto w = app->Read();
  ASSERT_TRUE(w.ok() && w->type == wire::FrameType::kWelcome);
  auto pw = plain->Hello();
  ASSERT_TRUE(pw.ok() && pw->type == wire::FrameType::kWelcome);
  auto hb = htl_link->Call("", 2, "hb");
  ASSERT_TRUE(hb.ok() && hb->first == TL_OK);

  HtlGateEvent down;
  down.kind = HtlGateEvent::Kind::kDown;
  down.client = "web1";
  down.message = "test down";
  gate_->Fire(down);
  for (TestClient* c : {app.get(), htl_link.get()}) {
    auto f = c->Read();
    ASSERT_TRUE(f.ok()) << f.status();
    ASSERT_EQ(f->type, wire::FrameType::kGoAway);
    auto cl = wire::DecodeClosing(f->payload);
    ASSERT_TRUE(cl.ok());
    EXPECT_EQ(cl->status, TL_E_HTL_DOWN);
    EXPECT_TRUE(absl::StrContains(cl->message, "test down")) << cl->message;
  }
  auto echo = plain->Call("p1", kOpEcho, "unaffected");
  ASSERT_TRUE(echo.ok()) << echo.status();
  EXPECT_EQ(echo->second, "unaffected");
}

// StatValue is counter `name` of the server's Stats().
uint64_t StatValue(const Server& server, const char* name) {
  const stats::StatList list = server.Stats();
  const stats::Stat* s = stats::FindStat(list, name);
  EXPECT_NE(s, nullptr) << "no counter " << name;
  return s == nullptr ? 0 : s->value;
}

TEST_F(HtlServerTest, CountsHtlUpDownAlertsAndRefusals) {
  auto link = Connect(true, "htl/1");
  ASSERT_NE(link, nullptr);
  auto est = link->Call("", 1, "ott");  // op 1: establish (an OTT redeemed)
  ASSERT_TRUE(est.ok() && est->first == TL_OK);
  auto hb = link->Call("", 2, "hb");  // a heartbeat is no state change
  ASSERT_TRUE(hb.ok() && hb->first == TL_OK);
  auto refused = Connect(true, "ntl/1");
  ASSERT_NE(refused, nullptr);
  ASSERT_TRUE(SendHelloAndProof(refused.get(), "bad").ok());
  auto f = refused->Read();
  ASSERT_TRUE(f.ok() && f->type == wire::FrameType::kGoAway);
  HtlGateEvent alert;
  alert.kind = HtlGateEvent::Kind::kAlert;
  alert.client = "web1";
  gate_->Fire(alert);
  HtlGateEvent down;
  down.kind = HtlGateEvent::Kind::kDown;
  down.client = "web1";
  gate_->Fire(down);
  EXPECT_EQ(StatValue(*server_, "htl_up"), 1u);
  EXPECT_EQ(StatValue(*server_, "htl_down"), 1u);
  EXPECT_EQ(StatValue(*server_, "htl_clone_alerts"), 1u);
  EXPECT_EQ(StatValue(*server_, "refused_htl"), 1u);
  // HTL requests are not partition calls.
  EXPECT_EQ(StatValue(*server_, "calls"), 0u);
}

TEST_F(HtlServerTest, GateIsTicked) {
  EXPECT_TRUE(WaitFor([&] { return gate_->ticks() >= 3; }, absl::Seconds(5)));
}

}  // namespace
}  // namespace trustlink::ntl::server
