// LinkPkcs11Service behind a real NTLS server: the server authorises the open,
// bytes flow both ways through the service's child, and a revoked assignment
// ends the stream and its child. The child is a stand-in for p11-kit (`cat`),
// so the test sees the bytes it sent come back.
#include "ntl/pkcs11/link_service.h"

#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "ntl/pkcs11/test_util.h"
#include "ntl/server/directory.h"
#include "ntl/server/server.h"
#include "ntl/server/test_client.h"
#include "ntl/wire/messages.h"
#include "trustlink/base.h"

namespace trustlink::ntl::pkcs11 {
namespace {

using server::testing::TestClient;

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
  return server::CertificateFingerprint(x.get());
}

class LinkServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cert_ = ReadFixture("client_ed25519.cert.pem");
    key_ = ReadFixture("client_ed25519.key.pem");
    directory_ = std::make_shared<server::InMemoryDirectory>();
    directory_->Put(Record({"withtoken", "notoken"}));
    ServiceOptions options;
    options.p11_kit = testing::FakeP11Kit("link_cat", "exec cat");
    service_ = std::make_unique<Pkcs11Service>(
        testing::StoreWithPartitions("link_tokens", {"withtoken"}), options);
    StartServer(service_.get());
  }

  // StartServer (re)starts the server with `service` as its pkcs11 service and
  // connects a client that has said hello.
  void StartServer(Pkcs11Service* service) {
    client_.reset();
    if (server_) {
      server_->Shutdown(absl::Seconds(2));
    }
    auto cred = server::ServerCredential::FromPem(
        ReadFixture("server_ed25519.cert.pem"),
        ReadFixture("server_ed25519.key.pem"));
    ASSERT_TRUE(cred.ok()) << cred.status();
    server::ServerOptions o;
    o.listen_address = "127.0.0.1";
    o.port = 0;
    o.threads = 1;
    auto s = server::Server::Create(
        o, directory_, std::make_shared<server::StaticCredentials>(*cred));
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::move(*s);
    server_->AddStreamService(kServiceName,
                              std::make_shared<LinkPkcs11Service>(service));
    ASSERT_TRUE(server_->Start().ok());
    server::testing::TestClientOptions co;
    co.cert_pem = cert_;
    co.key_pem = key_;
    auto c = TestClient::Connect(server_->port(), co);
    ASSERT_TRUE(c.ok()) << c.status();
    client_ = std::move(*c);
    auto w = client_->Hello();
    ASSERT_TRUE(w.ok()) << w.status();
    ASSERT_EQ(w->type, wire::FrameType::kWelcome);
  }

  void TearDown() override {
    client_.reset();
    if (server_) {
      server_->Shutdown(absl::Seconds(2));
    }
  }

  server::ClientRecord Record(std::vector<std::string> partitions) {
    server::ClientRecord r;
    r.label = "web1";
    r.fingerprint = FingerprintOfPem(cert_);
    r.allowed_ips = {"127.0.0.1"};
    for (const std::string& p : partitions) {
      r.partitions.push_back({p, p, "1001"});
    }
    return r;
  }

  void Open(uint32_t id, const std::string& partition) {
    ASSERT_TRUE(client_
                    ->Send(wire::FrameType::kStreamOpen, id,
                           wire::EncodeStreamOpen({partition, kServiceName}))
                    .ok());
  }

  // NextStreamFrame skips slot-list updates.
  absl::StatusOr<server::testing::Frame> NextStreamFrame() {
    for (;;) {
      auto f = client_->Read();
      if (!f.ok() || f->type != wire::FrameType::kSlotsChanged) {
        return f;
      }
    }
  }

  // NextClose reads the next stream frame, which must close a stream, and
  // returns what it says.
  wire::Closing NextClose() {
    auto f = NextStreamFrame();
    EXPECT_TRUE(f.ok()) << f.status();
    if (!f.ok() || f->type != wire::FrameType::kStreamClose) {
      ADD_FAILURE() << "want a stream close";
      return {};
    }
    auto closing = wire::DecodeClosing(f->payload);
    EXPECT_TRUE(closing.ok()) << closing.status();
    return closing.ok() ? *closing : wire::Closing{};
  }

  std::string cert_, key_;
  std::shared_ptr<server::InMemoryDirectory> directory_;
  std::unique_ptr<Pkcs11Service> service_;  // outlives server_
  std::unique_ptr<server::Server> server_;
  std::unique_ptr<TestClient> client_;
};

TEST_F(LinkServiceTest, BytesFlowThroughTheChildAndRevokeEndsIt) {
  Open(5, "withtoken");
  ASSERT_TRUE(client_->Send(wire::FrameType::kStreamData, 5, "ping").ok());
  std::string echoed;
  while (echoed.size() < 4) {
    auto f = NextStreamFrame();
    ASSERT_TRUE(f.ok()) << f.status();
    ASSERT_EQ(f->type, wire::FrameType::kStreamData);
    ASSERT_EQ(f->id, 5u);
    echoed += f->payload;
  }
  EXPECT_EQ(echoed, "ping");
  EXPECT_EQ(service_->live_sessions(), 1u);

  directory_->Put(Record({"notoken"}));  // revoke "withtoken"
  auto f = NextStreamFrame();
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_EQ(f->type, wire::FrameType::kStreamClose);
  auto closing = wire::DecodeClosing(f->payload);
  ASSERT_TRUE(closing.ok());
  EXPECT_EQ(closing->status, TL_E_PARTITION_NOT_ASSIGNED);
  EXPECT_TRUE(absl::StrContains(closing->message, "withtoken"))
      << closing->message;
  EXPECT_TRUE(testing::WaitUntil([&] {
    return service_->live_sessions() == 0;
  })) << "the child of a revoked stream is still running";
}

// A stream opened without a partition covers every assigned partition (here
// the two with tokens; the fake p11-kit prints its arguments). An assignment
// added later leaves it alone; revoking any covered partition ends it.
TEST_F(LinkServiceTest, ClientWideStreamServesAllAndEndsOnAnyRevoke) {
  directory_->Put(Record({"withtoken", "second", "notoken"}));
  ServiceOptions options;
  options.p11_kit = testing::FakeP11Kit("link_args", "echo \"$@\"; exec cat");
  Pkcs11Service args_service(
      testing::StoreWithPartitions("link_tokens", {"withtoken", "second"}),
      options);
  // A server whose pkcs11 service prints the child's arguments.
  StartServer(&args_service);
  ASSERT_FALSE(HasFailure());

  Open(11, "");
  const std::string want =
      "remote -p /usr/lib/softhsm/libsofthsm2.so pkcs11:token=second "
      "pkcs11:token=withtoken\n";
  std::string got;
  while (got.size() < want.size()) {
    auto f = NextStreamFrame();
    ASSERT_TRUE(f.ok()) << f.status();
    ASSERT_EQ(f->type, wire::FrameType::kStreamData)
        << wire::DecodeClosing(f->payload)->message;
    got += f->payload;
  }
  EXPECT_EQ(got, want);

  directory_->Put(Record({"withtoken", "second", "notoken", "later"}));
  auto f = client_->Read();
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->type, wire::FrameType::kSlotsChanged);
  EXPECT_EQ(args_service.live_sessions(), 1u);

  directory_->Put(Record({"withtoken", "notoken", "later"}));  // "second" goes
  wire::Closing closing = NextClose();
  EXPECT_EQ(closing.status, TL_E_PARTITION_NOT_ASSIGNED);
  EXPECT_EQ(closing.message, "partition 'second' was unassigned");
  EXPECT_TRUE(testing::WaitUntil([&] {
    return args_service.live_sessions() == 0;
  })) << "the child of a revoked client-wide stream is still running";
  client_.reset();
  server_->Shutdown(absl::Seconds(2));
  server_.reset();
}

TEST_F(LinkServiceTest, ClientWideStreamWithoutPartitionsIsRefused) {
  directory_->Put(Record({}));
  auto changed = client_->Read();
  ASSERT_TRUE(changed.ok()) << changed.status();
  Open(13, "");
  wire::Closing closing = NextClose();
  EXPECT_EQ(closing.status, TL_E_PARTITION_NOT_ASSIGNED);
  EXPECT_TRUE(absl::StrContains(closing.message, "no partitions assigned"))
      << closing.message;
  EXPECT_EQ(service_->live_sessions(), 0u);
}

TEST_F(LinkServiceTest, UnassignedPartitionIsRefusedBeforeAnyChildStarts) {
  directory_->Put(Record({"notoken"}));
  // The server applies directory changes asynchronously; it says when.
  auto changed = client_->Read();
  ASSERT_TRUE(changed.ok()) << changed.status();
  ASSERT_EQ(changed->type, wire::FrameType::kSlotsChanged);
  Open(7, "withtoken");
  auto f = NextStreamFrame();
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_EQ(f->type, wire::FrameType::kStreamClose);
  EXPECT_EQ(wire::DecodeClosing(f->payload)->status,
            TL_E_PARTITION_NOT_ASSIGNED);
  EXPECT_EQ(service_->live_sessions(), 0u);
}

TEST_F(LinkServiceTest, PartitionWithoutTokenIsNotFound) {
  Open(9, "notoken");
  wire::Closing closing = NextClose();
  EXPECT_EQ(closing.status, TL_E_NOT_FOUND);
  EXPECT_TRUE(absl::StrContains(closing.message, "notoken")) << closing.message;
  EXPECT_EQ(service_->live_sessions(), 0u);
}

}  // namespace
}  // namespace trustlink::ntl::pkcs11
