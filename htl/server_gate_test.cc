// The HTL through the real NTLS server: real TLS on loopback, the real
// Appliance state (on disk under $TEST_TMPDIR) behind htl::ApplianceGate, and
// a test client that computes the agent's proofs itself.

#include "htl/server_gate.h"

#include <openssl/pem.h>
#include <stdlib.h>

#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "htl/appliance.h"
#include "htl/clock.h"
#include "htl/crypto.h"
#include "htl/exporter.h"
#include "htl/messages.h"
#include "ntl/internal/mutex.h"
#include "ntl/server/server.h"
#include "ntl/server/software_partition.h"
#include "ntl/server/test_client.h"
#include "ntl/wire/messages.h"
#include "trustlink/base.h"

namespace trustlink::htl {
namespace {

using ntl::server::ClientRecord;
using ntl::server::InMemoryDirectory;
using ntl::server::kHelloFeatureHtl;
using ntl::server::Server;
using ntl::server::ServerOptions;
using ntl::server::testing::Frame;
using ntl::server::testing::TestClient;
using ntl::server::testing::TestClientOptions;
using ::testing::HasSubstr;
namespace wire = ntl::wire;

std::string ReadFixture(const std::string& name) {
  std::ifstream f("testdata/tls/" + name);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string FingerprintOfPem(const std::string& pem) {
  bssl::UniquePtr<BIO> b(BIO_new_mem_buf(pem.data(), pem.size()));
  bssl::UniquePtr<X509> x(
      PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr));
  return ntl::server::CertificateFingerprint(x.get());
}

std::string FreshRoot() {
  std::string tmpl = std::string(getenv("TEST_TMPDIR")) + "/htlsrv.XXXXXX";
  char* dir = mkdtemp(&tmpl[0]);
  return dir == nullptr ? "" : std::string(dir);
}

// Lines collects the server log.
class Lines {
 public:
  void Add(absl::string_view line) {
    ntl::internal::MutexLock lock(&mu_);
    lines_.emplace_back(line);
  }
  bool Contains(absl::string_view a, absl::string_view b = "") {
    ntl::internal::MutexLock lock(&mu_);
    for (const auto& l : lines_) {
      if (absl::StrContains(l, a) && absl::StrContains(l, b)) return true;
    }
    return false;
  }

 private:
  ntl::internal::Mutex mu_;
  std::vector<std::string> lines_ ABSL_GUARDED_BY(mu_);
};

// Closing is a goaway the server sent.
struct Closing {
  int32_t status = 0;
  std::string message;
};

// ReadGoAway reads until a goaway (skipping responses and pongs) or an error.
absl::StatusOr<Closing> ReadGoAway(TestClient* c) {
  while (true) {
    absl::StatusOr<Frame> f = c->Read();
    if (!f.ok()) return f.status();
    if (f->type != wire::FrameType::kGoAway) continue;
    absl::StatusOr<wire::Closing> cl = wire::DecodeClosing(f->payload);
    if (!cl.ok()) return cl.status();
    return Closing{cl->status, cl->message};
  }
}

// Agent is the client side of the HTL reduced to its secret.
struct Agent {
  uint64_t generation = 0;
  std::string secret;
};

class ServerGateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    web_cert_ = ReadFixture("client_ed25519.cert.pem");
    web_key_ = ReadFixture("client_ed25519.key.pem");
    db_cert_ = ReadFixture("client_p256.cert.pem");
    db_key_ = ReadFixture("client_p256.key.pem");
    directory_ = std::make_shared<InMemoryDirectory>();
    directory_->Put(Record("web1", FingerprintOfPem(web_cert_), true));
    directory_->Put(Record("db1", FingerprintOfPem(db_cert_), false));
    auto cred = ntl::server::ServerCredential::FromPem(
        ReadFixture("server_ed25519.cert.pem"),
        ReadFixture("server_ed25519.key.pem"));
    ASSERT_TRUE(cred.ok()) << cred.status();
    credentials_ = std::make_shared<ntl::server::StaticCredentials>(*cred);
    root_ = FreshRoot();
    ASSERT_FALSE(root_.empty());
    OpenAppliance();
  }

  void TearDown() override { StopServer(); }

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

  void OpenAppliance() {
    Appliance::Options o;
    o.root = root_;
    o.clock = &clock_;
    o.daemon = true;
    auto a = Appliance::Open(o);
    ASSERT_TRUE(a.ok()) << a.status();
    appliance_ = std::shared_ptr<Appliance>(*std::move(a));
  }

  void StartServer(bool with_gate = true) {
    ServerOptions o;
    o.listen_address = "127.0.0.1";
    o.port = 0;
    o.threads = 2;
    o.htl_tick = absl::Milliseconds(200);
    o.log = [this](absl::string_view l) { log_.Add(l); };
    auto s = Server::Create(o, directory_, credentials_);
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::move(*s);
    server_->SetPartitionHandler(
        std::make_shared<ntl::server::SoftwarePartitionHandler>());
    if (with_gate) {
      server_->SetHtlGate(std::make_shared<ApplianceGate>(appliance_));
    }
    ASSERT_TRUE(server_->Start().ok());
  }

  void StopServer() {
    if (server_) server_->Shutdown(absl::Seconds(2));
    server_.reset();
  }

  TestClientOptions Opts(bool web, absl::string_view alpn = "ntl/1") {
    TestClientOptions o;
    o.cert_pem = web ? web_cert_ : db_cert_;
    o.key_pem = web ? web_key_ : db_key_;
    o.alpn = std::string(alpn);
    o.io_timeout_seconds = 10;
    return o;
  }

  std::unique_ptr<TestClient> Connect(TestClientOptions o) {
    auto c = TestClient::Connect(server_->port(), o);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? std::move(*c) : nullptr;
  }

  std::unique_ptr<TestClient> HtlLink() { return Connect(Opts(true, "htl/1")); }

  static std::string Exporter(const TestClient& c) {
    absl::StatusOr<std::string> e = ExportHtlBinding(c.ssl());
    EXPECT_TRUE(e.ok()) << e.status();
    return e.ok() ? *e : std::string();
  }

  // CallHtl sends one htl/1 request and returns (status, data).
  static absl::StatusOr<std::pair<int32_t, std::string>> CallHtl(
      TestClient* link, uint32_t op, const std::string& data) {
    static uint32_t id = 0;
    return link->Call("", op, data, ++id);
  }

  void Establish(TestClient* link, const std::string& token, Agent* agent) {
    EstablishRequest r;
    r.token = token;
    r.binding =
        ComputeProof(ProofPurpose::kEstablish, token, 0, Exporter(*link));
    auto resp = CallHtl(link, kOpEstablish, EncodeEstablishRequest(r));
    ASSERT_TRUE(resp.ok()) << resp.status();
    ASSERT_EQ(resp->first, TL_OK) << resp->second;
    auto g = DecodeGrant(resp->second);
    ASSERT_TRUE(g.ok()) << g.status();
    agent->generation = g->generation;
    agent->secret = g->secret;
  }

  // Heartbeat returns the response status; on TL_OK the agent takes the grant.
  int32_t Heartbeat(TestClient* link, Agent* agent,
                    std::string* message = nullptr) {
    HeartbeatRequest r;
    r.generation = agent->generation;
    r.mac = ComputeProof(ProofPurpose::kHeartbeat, agent->secret,
                         agent->generation, Exporter(*link));
    auto resp = CallHtl(link, kOpHeartbeat, EncodeHeartbeatRequest(r));
    EXPECT_TRUE(resp.ok()) << resp.status();
    if (!resp.ok()) return -1;
    if (message != nullptr) *message = resp->second;
    if (resp->first == TL_OK) {
      auto g = DecodeGrant(resp->second);
      EXPECT_TRUE(g.ok()) << g.status();
      if (g.ok()) {
        agent->generation = g->generation;
        agent->secret = g->secret;
      }
    }
    return resp->first;
  }

  // Enrolled: a fresh token exchanged and confirmed by a heartbeat (what the
  // agent does), over `link`.
  Agent Enrolled(TestClient* link) {
    Agent agent;
    auto token = appliance_->GenerateOtt("web1", absl::nullopt);
    EXPECT_TRUE(token.ok()) << token.status();
    if (!token.ok()) return agent;
    Establish(link, *token, &agent);
    EXPECT_EQ(Heartbeat(link, &agent), TL_OK);
    return agent;
  }

  static std::string ProofFor(const Agent& agent, const std::string& exporter) {
    LinkProof p;
    p.generation = agent.generation;
    p.mac = ComputeProof(ProofPurpose::kLinkProof, agent.secret,
                         agent.generation, exporter);
    return EncodeLinkProof(p);
  }

  // SendHelloAndProof sends hello with the HTL bit and then `proof` (if not
  // empty), and returns the server's first answer.
  static absl::StatusOr<Frame> SendHelloAndProof(TestClient* c,
                                                 const std::string& proof) {
    wire::Hello h;
    h.features = kHelloFeatureHtl;
    h.software = "server_gate_test";
    absl::Status st = c->Send(wire::FrameType::kHello, 0, wire::EncodeHello(h));
    if (!st.ok()) return st;
    if (!proof.empty()) {
      st = c->Send(wire::FrameType::kHtlProof, 0, proof);
      if (!st.ok()) return st;
    }
    return c->Read();
  }

  // AppLink is an ntl/1 link of web1 admitted with a proof from `agent`.
  std::unique_ptr<TestClient> AppLink(const Agent& agent) {
    auto c = Connect(Opts(true));
    if (!c) return nullptr;
    auto f = SendHelloAndProof(c.get(), ProofFor(agent, Exporter(*c)));
    EXPECT_TRUE(f.ok()) << f.status();
    if (!f.ok()) return nullptr;
    EXPECT_EQ(f->type, wire::FrameType::kWelcome);
    return c;
  }

  static void ExpectGoAway(TestClient* c, int32_t status,
                           absl::string_view words) {
    absl::StatusOr<Closing> g = ReadGoAway(c);
    ASSERT_TRUE(g.ok()) << g.status();
    EXPECT_EQ(g->status, status) << g->message;
    EXPECT_THAT(g->message, HasSubstr(std::string(words)));
  }

  HtlStatus StatusOf(const std::string& client) {
    auto v = appliance_->Show(client);
    EXPECT_TRUE(v.ok()) << v.status();
    return v.ok() ? v->htl : HtlStatus::kUnknown;
  }

  bool WaitFor(const std::function<bool()>& cond, absl::Duration limit) {
    const absl::Time deadline = absl::Now() + limit;
    while (absl::Now() < deadline) {
      if (cond()) return true;
      absl::SleepFor(absl::Milliseconds(10));  // polling under a deadline
    }
    return cond();
  }

  std::string web_cert_, web_key_, db_cert_, db_key_, root_;
  FakeClock clock_;
  std::shared_ptr<InMemoryDirectory> directory_;
  std::shared_ptr<ntl::server::StaticCredentials> credentials_;
  std::shared_ptr<Appliance> appliance_;
  std::unique_ptr<Server> server_;
  Lines log_;
};

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
  ExpectGoAway(link.get(), TL_E_HTL_REQUIRED_BY_CLIENT, "-requirehtl");
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
    EXPECT_THAT(cl->message, HasSubstr("vtl addServer"));
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
    EXPECT_THAT(cl->message, HasSubstr("register the client with -requirehtl"));
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
  ExpectGoAway(link_b.get(), TL_E_HTL_DOWN, "generateott");
  ExpectGoAway(link_a.get(), TL_E_HTL_DOWN, "web1");
  EXPECT_LT(absl::Now() - detected, absl::Seconds(2));
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
  EXPECT_LT(absl::Now() - cleared, absl::Seconds(3));
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
  ExpectGoAway(app.get(), TL_E_HTL_REQUIRED_BY_CLIENT, "-requirehtl");
  ExpectGoAway(link.get(), TL_E_HTL_REQUIRED_BY_CLIENT, "-requirehtl");
}

}  // namespace
}  // namespace trustlink::htl
