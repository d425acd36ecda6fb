// The NTLA against the real NTLS engine (ntl/server), in process on loopback:
// admission outcomes, calls, live registry changes, restart, resumption and a
// swapped certificate.
#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "ntl/client/client.h"
#include "ntl/client/pin.h"
#include "ntl/client/testing/fake_server.h"
#include "ntl/client/testing/test_util.h"
#include "ntl/client/verify.h"
#include "ntl/identity.h"
#include "ntl/names.h"
#include "ntl/server/credentials.h"
#include "ntl/server/directory.h"
#include "ntl/server/server.h"
#include "ntl/server/software_partition.h"
#include "ntl/status.h"

namespace trustlink::ntl::client {
namespace {

using server::ClientRecord;
using server::InMemoryDirectory;
using server::Server;
using server::ServerCredential;
using server::StaticCredentials;
using testing::ReadTestFile;
using testing::WaitFor;

constexpr uint32_t kEcho = 1;
constexpr uint32_t kSha256 = 3;

class ServerE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    client_fp_ = Sha256Fingerprint(
        CertPemToDer(ReadTestFile("testdata/tls/client_ed25519.cert.pem"), "c")
            .value());
    directory_ = std::make_shared<InMemoryDirectory>();
    directory_->Put(Record({"127.0.0.1"}));
    credentials_ =
        std::make_shared<StaticCredentials>(Credential("server_ed25519"));
  }
  void TearDown() override {
    if (server_) {
      server_->Shutdown(absl::Seconds(1));
    }
  }

  static std::shared_ptr<const ServerCredential> Credential(
      const std::string& id) {
    return ServerCredential::FromPem(
               ReadTestFile("testdata/tls/" + id + ".cert.pem"),
               ReadTestFile("testdata/tls/" + id + ".key.pem"))
        .value();
  }

  ClientRecord Record(std::vector<std::string> ips) {
    ClientRecord r;
    r.label = "web1";
    r.fingerprint = client_fp_;
    r.allowed_ips = std::move(ips);
    r.partitions = {{"p1", "Partition One", "1001"},
                    {"p2", "Partition Two", "1002"}};
    return r;
  }

  void StartServer(uint16_t port = 0) {
    server::ServerOptions o;
    o.listen_address = "127.0.0.1";
    o.port = port;
    o.threads = 1;
    o.log = [](absl::string_view) {};
    // A restart on the port a test just freed can find it busy for a moment:
    // the kernel may have handed it to another test's connect. Retried under a
    // deadline.
    const absl::Time give_up = absl::Now() + absl::Seconds(10);
    absl::Status started;
    do {
      auto s = Server::Create(o, directory_, credentials_);
      ASSERT_TRUE(s.ok()) << s.status();
      server_ = std::move(*s);
      server_->SetPartitionHandler(
          std::make_shared<server::SoftwarePartitionHandler>());
      started = server_->Start();
      if (!started.ok() && port != 0) {
        absl::SleepFor(absl::Milliseconds(50));  // retrying under a deadline
      }
    } while (!started.ok() && port != 0 && absl::Now() < give_up);
    ASSERT_TRUE(started.ok()) << started;
  }

  ClientSettings Settings() {
    ClientSettings s = testing::Settings();
    s.servers.push_back(testing::Server("hsm1", server_->port()));
    return s;
  }

  std::string client_fp_;
  std::shared_ptr<InMemoryDirectory> directory_;
  std::shared_ptr<StaticCredentials> credentials_;
  std::unique_ptr<Server> server_;
};

TEST_F(ServerE2eTest, CallsFromSixteenThreadsOverTheRealServer) {
  StartServer();
  auto client = Client::Create(Settings());
  ASSERT_TRUE(client.ok()) << client.status();
  std::vector<Slot> slots = (*client)->Slots();
  ASSERT_EQ(slots.size(), 2u);
  EXPECT_EQ(slots[1].partition, "p2");
  EXPECT_EQ(slots[1].label, "Partition Two");
  EXPECT_EQ(slots[1].serial, "1002");
  absl::StatusOr<std::string> digest =
      (*client)->Call(0, kSha256, "abc", absl::Now() + absl::Seconds(5));
  ASSERT_TRUE(digest.ok()) << digest.status();
  EXPECT_EQ(digest->size(), 32u);
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t]() {
      for (int i = 0; i < 50; ++i) {
        const std::string d = absl::StrCat(t, ":", i);
        auto r =
            (*client)->Call(t % 2, kEcho, d, absl::Now() + absl::Seconds(20));
        if (r.ok() && *r == d) {
          ok.fetch_add(1);
        }
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  EXPECT_EQ(ok.load(), 800);
}

TEST_F(ServerE2eTest, VerifyNamesEachAdmissionRefusal) {
  StartServer();
  // Not registered.
  directory_->Remove(client_fp_);
  auto r = Verify(Settings(), absl::Seconds(5));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0].code, TL_E_NOT_REGISTERED) << (*r)[0].message;
  // Registered for another address (ipcheck is on).
  directory_->Put(Record({"127.0.0.2"}));
  r = Verify(Settings(), absl::Seconds(5));
  EXPECT_EQ((*r)[0].code, TL_E_IP_MISMATCH) << (*r)[0].message;
  // HTL required by the appliance only.
  ClientRecord htl = Record({"127.0.0.1"});
  htl.require_htl = true;
  directory_->Put(htl);
  r = Verify(Settings(), absl::Seconds(5));
  EXPECT_EQ((*r)[0].code, TL_E_HTL_REQUIRED_BY_APPLIANCE) << (*r)[0].message;
  // No partitions.
  ClientRecord none = Record({"127.0.0.1"});
  none.partitions.clear();
  directory_->Put(none);
  r = Verify(Settings(), absl::Seconds(5));
  EXPECT_EQ((*r)[0].code, TL_E_NO_PARTITIONS) << (*r)[0].message;
  // Admitted.
  directory_->Put(Record({"127.0.0.1"}));
  r = Verify(Settings(), absl::Seconds(5));
  EXPECT_EQ((*r)[0].code, TL_OK) << (*r)[0].message;
  EXPECT_EQ((*r)[0].slots.size(), 2u);
}

TEST_F(ServerE2eTest, VerifySaysTheClientCertificateExpiredAndHowToReplaceIt) {
  auto name = CanonicalizeName("127.0.0.1");
  ASSERT_TRUE(name.ok()) << name.status();
  IdentityOptions io;
  io.validity_days = 1;
  io.now = absl::Now() - absl::Hours(48);
  auto id = CreateIdentity(*name, io);
  ASSERT_TRUE(id.ok()) << id.status();
  ClientRecord old = Record({"127.0.0.1"});
  old.fingerprint = id->cert.Sha256Fingerprint();
  directory_->Put(old);
  StartServer();
  ClientSettings s = Settings();
  s.client_cert_pem = id->cert.Pem();
  s.client_key_pem = PrivateKeyToPem(id->key.get()).value();
  auto r = Verify(s, absl::Seconds(5));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)[0].code, TL_E_CERT_EXPIRED) << (*r)[0].message;
  EXPECT_TRUE(absl::StrContains((*r)[0].message, "tl_client_root_create_cert"))
      << (*r)[0].message;
  EXPECT_TRUE(
      absl::StrContains((*r)[0].message, "tl_registry_replace_certificate"))
      << (*r)[0].message;
}

TEST_F(ServerE2eTest, DeletedClientLosesItsLinkAndComesBackResumed) {
  StartServer();
  auto client = Client::Create(Settings());
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE(
      (*client)->Call(0, kEcho, "a", absl::Now() + absl::Seconds(5)).ok());
  directory_->Remove(client_fp_);
  ASSERT_TRUE(WaitFor(
      [&]() { return (*client)->Slots()[0].state != SlotState::kReady; },
      absl::Seconds(3)));
  EXPECT_EQ(ToTlStatus((*client)->Servers()[0].last_error), TL_E_NOT_REGISTERED)
      << (*client)->Servers()[0].last_error;
  directory_->Put(Record({"127.0.0.1"}));
  ASSERT_TRUE(WaitFor(
      [&]() { return (*client)->Slots()[0].state == SlotState::kReady; }));
  EXPECT_TRUE((*client)->Servers()[0].resumed);
  EXPECT_TRUE(
      (*client)->Call(0, kEcho, "b", absl::Now() + absl::Seconds(5)).ok());
}

TEST_F(ServerE2eTest, ReconnectsAfterTheServerRestarts) {
  StartServer();
  const uint16_t port = server_->port();
  auto client = Client::Create(Settings());
  ASSERT_TRUE(client.ok());
  server_->Shutdown(absl::Seconds(1));
  server_.reset();
  ASSERT_TRUE(WaitFor(
      [&]() { return (*client)->Slots()[0].state != SlotState::kReady; }));
  StartServer(port);
  ASSERT_TRUE(WaitFor(
      [&]() { return (*client)->Slots()[0].state == SlotState::kReady; }));
  auto r = (*client)->Call(1, kEcho, "again", absl::Now() + absl::Seconds(5));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*client)->Slots().size(), 2u);
}

TEST_F(ServerE2eTest, SwappedServerCertificateIsRefusedByThePin) {
  StartServer();
  ClientSettings s = Settings();
  auto client = Client::Create(s);
  ASSERT_TRUE(client.ok());
  ASSERT_EQ((*client)->Slots()[0].state, SlotState::kReady);
  credentials_->Set(Credential("server_p256"), nullptr);
  ASSERT_TRUE(WaitFor([&]() {
    return ToTlStatus((*client)->Servers()[0].last_error) ==
           TL_E_CERT_PIN_MISMATCH;
  })) << (*client)->Servers()[0].last_error;
  const std::string msg((*client)->Servers()[0].last_error.message());
  EXPECT_NE(msg.find(Credential("server_p256")->fingerprint), std::string::npos)
      << msg;
}

}  // namespace
}  // namespace trustlink::ntl::client
