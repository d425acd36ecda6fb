// Server: admission, refusals, live registry changes, bad input, load.
// Tickets and restarts are in server_resumption_test, async handlers and
// streams in server_streams_test.
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
#include "ntl/names.h"
#include "ntl/server/server_fixture.h"
#include "ntl/server/server_test_fixture.h"
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
using testing::ServerTest;
using testing::TestClient;
using testing::TestClientOptions;
using testing::WaitFor;

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
  // docs/server.md promises within 1 s (a tick is 100 ms); a sanitizer build on
  // a busy host can stall a thread for longer than the promise itself.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
#else
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
#endif
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
