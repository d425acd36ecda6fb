#ifndef TRUSTLINK_NTL_SERVER_SERVER_TEST_FIXTURE_H_
#define TRUSTLINK_NTL_SERVER_SERVER_TEST_FIXTURE_H_

// ServerTest: the gtest fixture of the Server tests split by theme
// (server_test: admission and live changes; server_resumption_test: tickets
// and restarts; server_streams_test: async handlers, streams, deadlines). It
// registers "web1" (client_ed25519, from 127.0.0.1 and 127.0.0.2, partitions
// p1 and p2) in an in-memory directory and starts a Server on a port the
// kernel picks.

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "ntl/server/server.h"
#include "ntl/server/server_fixture.h"
#include "ntl/server/software_partition.h"
#include "ntl/server/test_client.h"
#include "ntl/wire/frame.h"

namespace trustlink::ntl::server::testing {

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

}  // namespace trustlink::ntl::server::testing

#endif  // TRUSTLINK_NTL_SERVER_SERVER_TEST_FIXTURE_H_
