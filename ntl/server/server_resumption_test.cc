// Server: session tickets: resumption re-checks the registry, survives a
// restart with a ticket key directory, never crosses certificates, and the
// server certificate's regeneration overlap.
#include <openssl/ssl.h>

#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "ntl/identity.h"
#include "ntl/names.h"
#include "ntl/server/server.h"
#include "ntl/server/server_fixture.h"
#include "ntl/server/server_test_fixture.h"
#include "ntl/server/software_partition.h"
#include "ntl/server/test_client.h"
#include "ntl/wire/messages.h"

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

}  // namespace
}  // namespace trustlink::ntl::server
