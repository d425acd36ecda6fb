#ifndef TRUSTLINK_HTL_TESTING_SERVER_FIXTURE_H_
#define TRUSTLINK_HTL_TESTING_SERVER_FIXTURE_H_

// ServerGateTest: the real NTLS server on loopback with the real Appliance
// (state under $TEST_TMPDIR, a FakeClock) behind htl::ApplianceGate, and a
// test client that computes the agent's proofs itself. Shared by
// server_gate_test.cc and server_gate_down_test.cc.

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
#include "htl/server_gate.h"
#include "ntl/internal/mutex.h"
#include "ntl/server/server.h"
#include "ntl/server/software_partition.h"
#include "ntl/server/test_client.h"
#include "ntl/wire/messages.h"
#include "trustlink/base.h"

namespace trustlink::htl::testing {

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

inline std::string ReadFixture(const std::string& name) {
  std::ifstream f("testdata/tls/" + name);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline std::string FingerprintOfPem(const std::string& pem) {
  bssl::UniquePtr<BIO> b(BIO_new_mem_buf(pem.data(), pem.size()));
  bssl::UniquePtr<X509> x(
      PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr));
  return ntl::server::CertificateFingerprint(x.get());
}

inline std::string FreshRoot() {
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
inline absl::StatusOr<Closing> ReadGoAway(TestClient* c) {
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

}  // namespace trustlink::htl::testing

#endif  // TRUSTLINK_HTL_TESTING_SERVER_FIXTURE_H_
