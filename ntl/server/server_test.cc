#include "ntl/server/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "ntl/identity.h"
#include "ntl/internal/mutex.h"
#include "ntl/names.h"
#include "ntl/server/server_fixture.h"
#include "ntl/server/software_partition.h"
#include "ntl/server/test_client.h"
#include "ntl/wire/messages.h"
#include "trustlink/base.h"

namespace trustlink::ntl::server {
namespace {

using testing::ClientIdentity;
using testing::ClientOptions;
using testing::FixtureServerCredentials;
using testing::LoadClientIdentity;
using testing::LogLines;
using testing::ReadFixture;
using testing::TestClient;
using testing::TestClientOptions;
using testing::WaitFor;

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    client_ = LoadClientIdentity("client_ed25519");
    other_ = LoadClientIdentity("client_p256");
    directory_ = std::make_shared<InMemoryDirectory>();
    directory_->Put(
        Record("web1", client_.fingerprint, {"127.0.0.1", "127.0.0.2"}));
    auto cred = FixtureServerCredentials();
    ASSERT_TRUE(cred.ok()) << cred.status();
    credentials_ = std::move(*cred);
  }

  void TearDown() override {
    if (server_) {
      server_->Shutdown(absl::Seconds(2));
    }
  }

  ClientRecord Record(const std::string& label, const std::string& fp,
                      std::vector<std::string> ips) {
    ClientRecord r;
    r.label = label;
    r.fingerprint = fp;
    r.allowed_ips = std::move(ips);
    r.partitions = {{"p1", "Partition One", "1001"},
                    {"p2", "Partition Two", "1002"}};
    return r;
  }

  void StartServer(ServerOptions o = {},
                   std::shared_ptr<PartitionHandler> handler = nullptr) {
    o.listen_address = "127.0.0.1";
    o.port = 0;
    if (o.threads == 0) {
      o.threads = 2;
    }
    o.log = [this](absl::string_view l) { log_.Add(l); };
    auto s = Server::Create(o, directory_, credentials_);
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::move(*s);
    server_->SetPartitionHandler(
        handler ? handler : std::make_shared<SoftwarePartitionHandler>());
    ASSERT_TRUE(server_->Start().ok());
  }

  TestClientOptions Opts(const std::string& source_ip = "") {
    TestClientOptions o = ClientOptions(client_);
    o.source_ip = source_ip;
    return o;
  }

  std::unique_ptr<TestClient> Admitted(TestClientOptions o) {
    auto c = TestClient::Connect(server_->port(), o);
    EXPECT_TRUE(c.ok()) << c.status();
    if (!c.ok()) {
      return nullptr;
    }
    auto w = (*c)->Hello();
    EXPECT_TRUE(w.ok()) << w.status();
    if (!w.ok()) {
      return nullptr;
    }
    EXPECT_EQ(w->type, wire::FrameType::kWelcome);
    return std::move(*c);
  }

  // RestartAndOffer shuts the server down, starts a new one with `o` (as
  // ntlsd's restarts do) and says whether a link offering `ticket` resumed.
  bool RestartAndOffer(ServerOptions o, SSL_SESSION* ticket) {
    server_->Shutdown(absl::Seconds(1));
    StartServer(o);
    TestClientOptions resume = Opts();
    resume.session = ticket;
    auto c = Admitted(resume);
    return c != nullptr && c->resumed();
  }

  // ExpectAlert: the server refuses with `alert` during or right after the
  // handshake.
  void ExpectAlert(TestClientOptions o, int alert) {
    auto c = TestClient::Connect(server_->port(), o);
    if (!c.ok()) {
      return;  // refused during the handshake (TLS 1.2 style); fine
    }
    auto f = (*c)->Hello();
    ASSERT_FALSE(f.ok()) << "expected a refusal, got frame "
                         << static_cast<int>(f->type);
    EXPECT_EQ((*c)->alert(), alert) << f.status();
  }

  ClientIdentity client_, other_;
  std::shared_ptr<InMemoryDirectory> directory_;
  std::shared_ptr<StaticCredentials> credentials_;
  std::unique_ptr<Server> server_;
  LogLines log_;
};

TEST_F(ServerTest, AdmitsRegisteredClientAndServesSoftwarePartition) {
  StartServer();
  auto c = TestClient::Connect(server_->port(), Opts());
  ASSERT_TRUE(c.ok()) << c.status();
  auto w = (*c)->Hello();
  ASSERT_TRUE(w.ok()) << w.status();
  ASSERT_EQ(w->type, wire::FrameType::kWelcome);
  auto welcome = wire::DecodeWelcome(w->payload);
  ASSERT_TRUE(welcome.ok());
  EXPECT_EQ(welcome->client_label, "web1");
  ASSERT_EQ(welcome->slots.size(), 2u);
  EXPECT_EQ(welcome->slots[1].serial, "1002");

  auto echo = (*c)->Call("p1", kOpEcho, "hello");
  ASSERT_TRUE(echo.ok()) << echo.status();
  EXPECT_EQ(echo->first, TL_OK);
  EXPECT_EQ(echo->second, "hello");
  auto sha = (*c)->Call("p1", kOpSha256, "abc", 2);
  ASSERT_TRUE(sha.ok());
  EXPECT_EQ(sha->second.size(), 32u);
  EXPECT_EQ(static_cast<uint8_t>(sha->second[0]), 0xba);
  auto rnd = (*c)->Call("p1", kOpRandom, std::string("\0\0\0\x10", 4), 3);
  ASSERT_TRUE(rnd.ok());
  EXPECT_EQ(rnd->second.size(), 16u);
  auto h1 = (*c)->Call("p1", kOpHmacSha256, "x", 4);
  auto h2 = (*c)->Call("p2", kOpHmacSha256, "x", 5);
  ASSERT_TRUE(h1.ok() && h2.ok());
  EXPECT_NE(h1->second, h2->second);
  auto denied = (*c)->Call("p9", kOpEcho, "x", 6);
  ASSERT_TRUE(denied.ok());
  EXPECT_EQ(denied->first, TL_E_PARTITION_NOT_ASSIGNED);
  // Heartbeat.
  ASSERT_TRUE((*c)->Send(wire::FrameType::kPing, 0, "beat").ok());
  auto pong = (*c)->Read();
  ASSERT_TRUE(pong.ok());
  EXPECT_EQ(pong->type, wire::FrameType::kPong);
  EXPECT_EQ(pong->payload, "beat");

  ServerStatus st = server_->GetStatus();
  EXPECT_EQ(st.connections, 1);
  ASSERT_EQ(st.clients.size(), 1u);
  EXPECT_EQ(st.clients[0].label, "web1");
  EXPECT_TRUE(log_.Contains("admitted", "web1"));
}

TEST_F(ServerTest, RefusesUnregisteredCertificateWithCertificateUnknown) {
  StartServer();
  TestClientOptions o = ClientOptions(other_);
  ExpectAlert(o, SSL_AD_CERTIFICATE_UNKNOWN);
  EXPECT_TRUE(WaitFor(
      [&] { return log_.Contains("rule=registered", other_.fingerprint); },
      absl::Seconds(5)));
}

TEST_F(ServerTest, RefusesExpiredClientCertificateWithCertificateExpired) {
  auto name = CanonicalizeName("127.0.0.1");
  ASSERT_TRUE(name.ok()) << name.status();
  IdentityOptions io;
  io.validity_days = 1;
  io.now = absl::Now() - absl::Hours(48);
  auto id = CreateIdentity(*name, io);
  ASSERT_TRUE(id.ok()) << id.status();
  auto key_pem = PrivateKeyToPem(id->key.get());
  ASSERT_TRUE(key_pem.ok()) << key_pem.status();
  directory_->Put(Record("old1", id->cert.Sha256Fingerprint(), {"127.0.0.1"}));
  StartServer();
  TestClientOptions o = Opts();
  o.cert_pem = id->cert.Pem();
  o.key_pem = *key_pem;
  ExpectAlert(o, SSL_AD_CERTIFICATE_EXPIRED);
  EXPECT_TRUE(WaitFor(
      [&] {
        return log_.Contains("rule=validity", "'old1' certificate expired");
      },
      absl::Seconds(5)));
}

TEST_F(ServerTest, RefusesWrongSourceAddressWithAccessDenied) {
  StartServer();
  ExpectAlert(Opts("127.0.0.3"), SSL_AD_ACCESS_DENIED);
  EXPECT_TRUE(
      WaitFor([&] { return log_.Contains("rule=ipcheck", "127.0.0.3"); },
              absl::Seconds(5)));
  // The registered address is fine, and ipcheck off admits any address.
  EXPECT_NE(Admitted(Opts("127.0.0.2")), nullptr);
  directory_->SetIpCheck(false);
  EXPECT_NE(Admitted(Opts("127.0.0.3")), nullptr);
}

TEST_F(ServerTest, RefusesClientWithoutCertificate) {
  StartServer();
  TestClientOptions o;
  ExpectAlert(o, SSL_AD_CERTIFICATE_REQUIRED);
  EXPECT_TRUE(WaitFor([&] { return log_.Contains("handshake-failed"); },
                      absl::Seconds(5)));
}

TEST_F(ServerTest, RequireHtlClientGetsGoAwaySayingHtlIsRequired) {
  ClientRecord r = Record("vm1", client_.fingerprint, {"127.0.0.1"});
  r.require_htl = true;
  directory_->Put(r);
  StartServer();
  auto c = TestClient::Connect(server_->port(), Opts());
  ASSERT_TRUE(c.ok());
  auto f = (*c)->Hello();
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_EQ(f->type, wire::FrameType::kGoAway);
  auto cl = wire::DecodeClosing(f->payload);
  ASSERT_TRUE(cl.ok());
  EXPECT_EQ(cl->status, TL_E_HTL_REQUIRED_BY_APPLIANCE);
  EXPECT_TRUE(absl::StrContains(cl->message, "HTL is required")) << cl->message;
}

TEST_F(ServerTest, DeletedClientLosesLiveLinkWithinOneSecond) {
  StartServer();
  auto c = Admitted(Opts());
  ASSERT_NE(c, nullptr);
  const absl::Time start = absl::Now();
  directory_->Remove(client_.fingerprint);
  auto f = c->Read();
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->type, wire::FrameType::kGoAway);
  EXPECT_FALSE(c->Read().ok());  // then the connection closes
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  EXPECT_TRUE(WaitFor([&] { return server_->GetStatus().connections == 0; },
                      absl::Seconds(2)));
}

// A test client writing to a link the server closed gets an error; before,
// SIGPIPE ended the test binary with no word of which check failed (seen in
// connection_budget_test under TSan: exit 141, no gtest summary).
TEST_F(ServerTest, WritingToAClosedLinkFailsInsteadOfKillingTheTest) {
  StartServer();
  auto c = Admitted(Opts());
  ASSERT_NE(c, nullptr);
  server_->Shutdown(absl::Seconds(1));
  // The first write after the close draws the reset; a later one meets it.
  EXPECT_TRUE(WaitFor([&] { return !c->SendRaw("x").ok(); }, absl::Seconds(5)));
}

TEST_F(ServerTest, ReplacedCertificateClosesOldLinkAndAdmitsNewOne) {
  StartServer();
  auto c = Admitted(Opts());
  ASSERT_NE(c, nullptr);
  directory_->Remove(client_.fingerprint);
  directory_->Put(Record("web1", other_.fingerprint, {"127.0.0.1"}));
  auto f = c->Read();
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->type, wire::FrameType::kGoAway);
  TestClientOptions o = ClientOptions(other_);
  EXPECT_NE(Admitted(o), nullptr);
  ExpectAlert(Opts(), SSL_AD_CERTIFICATE_UNKNOWN);
}

TEST_F(ServerTest, RevokedPartitionFailsCallsAndPushesSlotsChanged) {
  StartServer();
  auto c = Admitted(Opts());
  ASSERT_NE(c, nullptr);
  ClientRecord r = Record("web1", client_.fingerprint, {"127.0.0.1"});
  r.partitions.pop_back();
  directory_->Put(r);
  auto f = c->Read();
  ASSERT_TRUE(f.ok());
  ASSERT_EQ(f->type, wire::FrameType::kSlotsChanged);
  auto w = wire::DecodeWelcome(f->payload);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->slots.size(), 1u);
  auto call = c->Call("p2", kOpEcho, "x");
  ASSERT_TRUE(call.ok());
  EXPECT_EQ(call->first, TL_E_PARTITION_NOT_ASSIGNED);
}

TEST_F(ServerTest, ResumptionReadmitsAndRefusesDeregisteredClient) {
  StartServer();
  bssl::UniquePtr<SSL_SESSION> session;
  {
    auto c = Admitted(Opts());
    ASSERT_NE(c, nullptr);
    ASSERT_NE(c->session(), nullptr);
    SSL_SESSION_up_ref(c->session());
    session.reset(c->session());
  }
  TestClientOptions o = Opts();
  o.session = session.get();
  {
    auto c = Admitted(o);
    ASSERT_NE(c, nullptr);
    EXPECT_TRUE(c->resumed());
  }
  EXPECT_TRUE(log_.Contains("resumed=yes"));
  directory_->Remove(client_.fingerprint);
  auto c = TestClient::Connect(server_->port(), o);
  if (c.ok()) {
    EXPECT_FALSE((*c)->resumed());
    auto f = (*c)->Hello();
    EXPECT_FALSE(f.ok());
    EXPECT_EQ((*c)->alert(), SSL_AD_CERTIFICATE_UNKNOWN);
  }
}

// TicketOf returns the newest ticket the server issued to `c`, or null.
bssl::UniquePtr<SSL_SESSION> TicketOf(TestClient* c) {
  if (c == nullptr || c->session() == nullptr) {
    return nullptr;
  }
  SSL_SESSION_up_ref(c->session());
  return bssl::UniquePtr<SSL_SESSION>(c->session());
}

// TempDir makes a directory under the test's tmp dir.
std::string TempDir() {
  std::string tmpl = std::string(getenv("TEST_TMPDIR")) + "/keys.XXXXXX";
  return mkdtemp(tmpl.data()) != nullptr ? tmpl : "";
}

// Issue 16, "Storms": with a ticket key directory (ntlsd's <root>/server) a
// client resumes on the restarted server.
TEST_F(ServerTest, AClientResumesAfterTheServerRestarts) {
  ServerOptions o;
  o.ticket_key_dir = TempDir();
  StartServer(o);
  bssl::UniquePtr<SSL_SESSION> ticket = TicketOf(Admitted(Opts()).get());
  ASSERT_NE(ticket, nullptr);
  EXPECT_TRUE(RestartAndOffer(o, ticket.get()));
  EXPECT_TRUE(log_.Contains("authenticated", "resumed=yes"));
  EXPECT_TRUE(log_.Contains("ticket-keys loaded"));
}

// Without a key directory the keys die with the server (the behaviour before,
// and still an embedder's default): the reconnect is a full handshake.
TEST_F(ServerTest, WithoutATicketKeyDirectoryARestartCostsAFullHandshake) {
  StartServer();
  bssl::UniquePtr<SSL_SESSION> ticket = TicketOf(Admitted(Opts()).get());
  ASSERT_NE(ticket, nullptr);
  EXPECT_FALSE(RestartAndOffer(ServerOptions(), ticket.get()));
}

// The master keys are shared, but each certificate derives its own: a ticket
// issued under one server certificate never resumes under another.
TEST_F(ServerTest, ATicketNeverResumesUnderAnotherCertificate) {
  ServerOptions o;
  o.ticket_key_dir = TempDir();
  StartServer(o);
  bssl::UniquePtr<SSL_SESSION> ticket = TicketOf(Admitted(Opts()).get());
  ASSERT_NE(ticket, nullptr);
  auto other = ServerCredential::FromPem(ReadFixture("server_p256.cert.pem"),
                                         ReadFixture("server_p256.key.pem"));
  ASSERT_TRUE(other.ok()) << other.status();
  credentials_->Set(*other, nullptr);
  EXPECT_FALSE(RestartAndOffer(o, ticket.get()));
}

TEST_F(ServerTest, ServerCertificateRegenKeepsOverlapThenDropsOldLinks) {
  StartServer();
  auto c = Admitted(Opts());
  ASSERT_NE(c, nullptr);
  auto old_cred = credentials_->Get().current;
  auto fresh = ServerCredential::FromPem(ReadFixture("server_p256.cert.pem"),
                                         ReadFixture("server_p256.key.pem"));
  ASSERT_TRUE(fresh.ok());
  credentials_->Set(*fresh, old_cred);
  // During the overlap the old link keeps working.
  auto call = c->Call("p1", kOpEcho, "still here");
  ASSERT_TRUE(call.ok()) << call.status();
  EXPECT_EQ(call->second, "still here");
  EXPECT_TRUE(WaitFor([&] { return log_.Contains("certificate-changed"); },
                      absl::Seconds(2)));
  // New connections get the new certificate.
  {
    auto n = Admitted(Opts());
    ASSERT_NE(n, nullptr);
  }
  credentials_->Set(*fresh, nullptr);
  auto f = c->Read();
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->type, wire::FrameType::kGoAway);
}

TEST_F(ServerTest, SurvivesBadInputAndKeepsServingOthers) {
  ServerOptions o;
  o.max_frame_payload = 4096;
  o.max_pending_output = 256 * 1024;
  StartServer(o);
  auto good = Admitted(Opts());
  ASSERT_NE(good, nullptr);
  {  // garbage after the handshake
    auto c = Admitted(Opts());
    ASSERT_NE(c, nullptr);
    ASSERT_TRUE(c->SendRaw(std::string(64, '\xff')).ok());
    auto f = c->Read();
    ASSERT_TRUE(f.ok());
    EXPECT_EQ(f->type, wire::FrameType::kGoAway);
  }
  {  // an oversized frame length
    auto c = Admitted(Opts());
    ASSERT_NE(c, nullptr);
    std::string header;
    wire::AppendFrame(wire::FrameType::kRequest, 0, 1, "", &header);
    header[8] = '\x7f';
    ASSERT_TRUE(c->SendRaw(header).ok());
    auto f = c->Read();
    ASSERT_TRUE(f.ok());
    EXPECT_EQ(f->type, wire::FrameType::kGoAway);
  }
  {  // a frame cut in half, then the client goes away
    auto c = Admitted(Opts());
    ASSERT_NE(c, nullptr);
    wire::Request r{"p1", kOpEcho, std::string(1000, 'a')};
    std::string frame;
    wire::AppendFrame(wire::FrameType::kRequest, 0, 1, wire::EncodeRequest(r),
                      &frame);
    ASSERT_TRUE(c->SendRaw(frame.substr(0, frame.size() / 2)).ok());
  }
  {  // a client that sends requests and never reads
    TestClientOptions stalled = Opts();
    stalled.io_timeout_seconds = 1;
    auto c = Admitted(stalled);
    ASSERT_NE(c, nullptr);
    wire::Request r{"p1", kOpEcho, std::string(3000, 'b')};
    std::string frame;
    wire::AppendFrame(wire::FrameType::kRequest, 0, 0, wire::EncodeRequest(r),
                      &frame);
    std::string batch;
    for (uint32_t i = 0; i < 64; ++i) {
      frame[4] = static_cast<char>(i >> 24);
      frame[7] = static_cast<char>(i);
      frame[6] = static_cast<char>(i >> 8);
      batch += frame;
    }
    // Bounded: writes stop succeeding once the server stops reading (send
    // timeout).
    for (int i = 0; i < 200; ++i) {
      for (uint32_t j = 0; j < 64; ++j) {
        batch[j * frame.size() + 5] =
            static_cast<char>(i);  // distinct ids per round
      }
      if (!c->SendRaw(batch).ok()) {
        break;
      }
      if (server_->GetStatus().connections > 0 &&
          good->Call("p1", kOpEcho, "alive", 1000 + i).ok() == false) {
        break;
      }
    }
    auto alive = good->Call("p1", kOpEcho, "alive", 7);
    ASSERT_TRUE(alive.ok()) << alive.status();
    EXPECT_EQ(alive->second, "alive");
  }
  auto alive = good->Call("p1", kOpEcho, "still", 8);
  ASSERT_TRUE(alive.ok()) << alive.status();
  EXPECT_EQ(alive->second, "still");
  EXPECT_TRUE(log_.Contains("protocol-error"));
}

TEST_F(ServerTest, SixteenConcurrentClients) {
  StartServer();
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      auto c = TestClient::Connect(server_->port(), Opts());
      if (!c.ok() || !(*c)->Hello().ok()) {
        return;
      }
      for (uint32_t i = 0; i < 50; ++i) {
        const std::string msg =
            "t" + std::to_string(t) + "-" + std::to_string(i);
        auto r = (*c)->Call("p1", kOpEcho, msg, i + 1);
        if (!r.ok() || r->second != msg) {
          return;
        }
      }
      ok.fetch_add(1);
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  EXPECT_EQ(ok.load(), 16);
}

// SlowHandler answers from another thread when released.
class SlowHandler : public PartitionHandler {
 public:
  void HandleRequest(const CallContext&, uint32_t, absl::string_view data,
                     std::unique_ptr<Responder> responder) override {
    internal::MutexLock lock(&mu_);
    waiting_.emplace_back(std::move(responder), std::string(data));
    cv_.SignalAll();
  }
  bool WaitForCalls(size_t n) {
    internal::MutexLock lock(&mu_);
    const absl::Time deadline = absl::Now() + absl::Seconds(5);
    while (waiting_.size() < n) {
      if (cv_.WaitWithDeadline(&mu_, deadline)) {
        return waiting_.size() >= n;
      }
    }
    return true;
  }
  void ReleaseAll() {
    std::vector<std::pair<std::unique_ptr<Responder>, std::string>> w;
    {
      internal::MutexLock lock(&mu_);
      w.swap(waiting_);
    }
    std::thread t([&w] {
      for (auto& [r, d] : w) {
        r->Respond(TL_OK, d);
      }
    });
    t.join();
  }

 private:
  internal::Mutex mu_;
  internal::CondVar cv_;
  std::vector<std::pair<std::unique_ptr<Responder>, std::string>> waiting_
      ABSL_GUARDED_BY(mu_);
};

TEST_F(ServerTest, SlowAsyncHandlerDoesNotBlockLoopAndShutdownFinishesCalls) {
  ServerOptions o;
  o.threads = 1;  // one loop: a blocked loop would fail the ping below
  auto slow = std::make_shared<SlowHandler>();
  StartServer(o, slow);
  auto c = Admitted(Opts());
  ASSERT_NE(c, nullptr);
  wire::Request r{"p1", kOpEcho, "late"};
  ASSERT_TRUE(
      c->Send(wire::FrameType::kRequest, 42, wire::EncodeRequest(r)).ok());
  ASSERT_TRUE(slow->WaitForCalls(1));
  ASSERT_TRUE(c->Send(wire::FrameType::kPing, 0, "p").ok());
  auto pong = c->Read();
  ASSERT_TRUE(pong.ok());
  EXPECT_EQ(pong->type, wire::FrameType::kPong);
  std::thread stopper([&] { server_->Shutdown(absl::Seconds(5)); });
  ASSERT_TRUE(WaitFor([&] { return log_.Contains("shutting down"); },
                      absl::Seconds(2)));
  slow->ReleaseAll();
  auto resp = c->Read();
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->type, wire::FrameType::kResponse);
  EXPECT_EQ(resp->id, 42u);
  auto bye = c->Read();
  ASSERT_TRUE(bye.ok());
  EXPECT_EQ(bye->type, wire::FrameType::kGoAway);
  stopper.join();
}

// EchoService echoes stream bytes back, upper-cased, through the sink.
class EchoService : public StreamService {
 public:
  class Session : public StreamSession {
   public:
    explicit Session(std::shared_ptr<StreamSink> sink)
        : sink_(std::move(sink)) {}
    void OnData(absl::string_view data) override {
      std::string up(data);
      for (char& ch : up) {
        ch = static_cast<char>(toupper(static_cast<unsigned char>(ch)));
      }
      if (up == "BYE") {
        sink_->Close(TL_OK, "bye");
        return;
      }
      sink_->Send(up);
    }
    void OnClose() override {}

   private:
    std::shared_ptr<StreamSink> sink_;
  };
  absl::StatusOr<std::unique_ptr<StreamSession>> Open(
      const CallContext&, std::shared_ptr<StreamSink> sink) override {
    return std::unique_ptr<StreamSession>(new Session(std::move(sink)));
  }
};

TEST_F(ServerTest, StreamChannelToNamedService) {
  ServerOptions o;
  o.listen_address = "127.0.0.1";
  o.port = 0;
  o.threads = 1;
  o.log = [this](absl::string_view l) { log_.Add(l); };
  auto s = Server::Create(o, directory_, credentials_);
  ASSERT_TRUE(s.ok());
  server_ = std::move(*s);
  server_->AddStreamService("echo", std::make_shared<EchoService>());
  ASSERT_TRUE(server_->Start().ok());
  auto c = Admitted(Opts());
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->Send(wire::FrameType::kStreamOpen, 5,
                      wire::EncodeStreamOpen({"p1", "echo"}))
                  .ok());
  ASSERT_TRUE(c->Send(wire::FrameType::kStreamData, 5, "hello").ok());
  auto f = c->Read();
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->type, wire::FrameType::kStreamData);
  EXPECT_EQ(f->id, 5u);
  EXPECT_EQ(f->payload, "HELLO");
  ASSERT_TRUE(c->Send(wire::FrameType::kStreamData, 5, "bye").ok());
  f = c->Read();
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->type, wire::FrameType::kStreamClose);
  // Unknown service and unassigned partition are refused on the stream, not the
  // link.
  ASSERT_TRUE(c->Send(wire::FrameType::kStreamOpen, 6,
                      wire::EncodeStreamOpen({"p1", "nope"}))
                  .ok());
  f = c->Read();
  ASSERT_TRUE(f.ok());
  ASSERT_EQ(f->type, wire::FrameType::kStreamClose);
  EXPECT_EQ(wire::DecodeClosing(f->payload)->status, TL_E_NOT_FOUND);
  ASSERT_TRUE(c->Send(wire::FrameType::kStreamOpen, 7,
                      wire::EncodeStreamOpen({"p9", "echo"}))
                  .ok());
  f = c->Read();
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(wire::DecodeClosing(f->payload)->status,
            TL_E_PARTITION_NOT_ASSIGNED);
}

TEST_F(ServerTest, HandshakeDeadlineClosesSilentPeers) {
  ServerOptions o;
  o.handshake_timeout = absl::Milliseconds(300);
  StartServer(o);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(server_->port());
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  char b;
  EXPECT_EQ(recv(fd, &b, 1, 0), 0);  // closed by the server
  close(fd);
  EXPECT_TRUE(log_.Contains("handshake deadline"));
}

}  // namespace
}  // namespace trustlink::ntl::server
