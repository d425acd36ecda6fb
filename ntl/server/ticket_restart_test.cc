// Session tickets across a server restart (issue 16, "Storms"): with a ticket
// key directory a client resumes on the restarted server; a ticket never
// resumes under another server certificate.

#include <openssl/ssl.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ntl/server/server.h"
#include "ntl/server/server_fixture.h"
#include "ntl/server/software_partition.h"
#include "ntl/server/test_client.h"
#include "ntl/wire/frame.h"

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

class TicketRestartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    client_ = LoadClientIdentity("client_ed25519");
    directory_ = std::make_shared<InMemoryDirectory>();
    ClientRecord r;
    r.label = "web1";
    r.fingerprint = client_.fingerprint;
    r.allowed_ips = {"127.0.0.1"};
    r.partitions = {{"p1", "Partition One", "1001"}};
    directory_->Put(r);
    std::string tmpl = absl::StrCat(getenv("TEST_TMPDIR"), "/keys.XXXXXX");
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    key_dir_ = tmpl;
  }

  std::unique_ptr<Server> Start(std::shared_ptr<CredentialSource> creds,
                                const std::string& key_dir) {
    ServerOptions o;
    o.listen_address = "127.0.0.1";
    o.port = 0;
    o.threads = 1;
    o.ticket_key_dir = key_dir;
    o.log = [this](absl::string_view l) { log_.Add(l); };
    auto s = Server::Create(o, directory_, std::move(creds));
    EXPECT_TRUE(s.ok()) << s.status();
    if (!s.ok()) {
      return nullptr;
    }
    (*s)->SetPartitionHandler(std::make_shared<SoftwarePartitionHandler>());
    EXPECT_TRUE((*s)->Start().ok());
    return std::move(*s);
  }

  std::shared_ptr<CredentialSource> Fixture() {
    auto c = FixtureServerCredentials();
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? *c : nullptr;
  }

  // Link makes an admitted link offering `session` and returns whether it
  // resumed; the newest ticket lands in *ticket.
  bool Link(uint16_t port, SSL_SESSION* session,
            bssl::UniquePtr<SSL_SESSION>* ticket) {
    TestClientOptions o = ClientOptions(client_);
    o.session = session;
    auto c = TestClient::Connect(port, o);
    EXPECT_TRUE(c.ok()) << c.status();
    if (!c.ok()) {
      return false;
    }
    auto w = (*c)->Hello();
    EXPECT_TRUE(w.ok()) << w.status();
    if (w.ok()) {
      EXPECT_EQ(w->type, wire::FrameType::kWelcome);
    }
    if (ticket != nullptr && (*c)->session() != nullptr) {
      SSL_SESSION_up_ref((*c)->session());
      ticket->reset((*c)->session());
    }
    return (*c)->resumed();
  }

  ClientIdentity client_;
  std::shared_ptr<InMemoryDirectory> directory_;
  std::string key_dir_;
  LogLines log_;
};

TEST_F(TicketRestartTest, AClientResumesAfterTheServerRestarts) {
  bssl::UniquePtr<SSL_SESSION> ticket;
  {
    auto server = Start(Fixture(), key_dir_);
    ASSERT_NE(server, nullptr);
    EXPECT_FALSE(Link(server->port(), nullptr, &ticket));
    ASSERT_NE(ticket, nullptr);
    server->Shutdown(absl::Seconds(1));
  }
  auto server = Start(Fixture(), key_dir_);
  ASSERT_NE(server, nullptr);
  EXPECT_TRUE(Link(server->port(), ticket.get(), nullptr));
  EXPECT_TRUE(log_.Contains("authenticated", "resumed=yes"));
  EXPECT_TRUE(log_.Contains("ticket-keys loaded"));
}

// Without a key directory the keys die with the server (the behaviour before,
// and still an embedder's default): the reconnect is a full handshake.
TEST_F(TicketRestartTest, WithoutAKeyDirectoryARestartCostsAFullHandshake) {
  bssl::UniquePtr<SSL_SESSION> ticket;
  {
    auto server = Start(Fixture(), "");
    ASSERT_NE(server, nullptr);
    Link(server->port(), nullptr, &ticket);
    ASSERT_NE(ticket, nullptr);
  }
  auto server = Start(Fixture(), "");
  ASSERT_NE(server, nullptr);
  EXPECT_FALSE(Link(server->port(), ticket.get(), nullptr));
}

// The master keys are shared, but each certificate derives its own: a ticket
// issued under one server certificate never resumes under another.
TEST_F(TicketRestartTest, ATicketNeverResumesUnderAnotherCertificate) {
  bssl::UniquePtr<SSL_SESSION> ticket;
  {
    auto server = Start(Fixture(), key_dir_);
    ASSERT_NE(server, nullptr);
    Link(server->port(), nullptr, &ticket);
    ASSERT_NE(ticket, nullptr);
  }
  auto other = ServerCredential::FromPem(ReadFixture("server_p256.cert.pem"),
                                         ReadFixture("server_p256.key.pem"));
  ASSERT_TRUE(other.ok()) << other.status();
  auto server = Start(std::make_shared<StaticCredentials>(*other), key_dir_);
  ASSERT_NE(server, nullptr);
  EXPECT_FALSE(Link(server->port(), ticket.get(), nullptr));
}

}  // namespace
}  // namespace trustlink::ntl::server
