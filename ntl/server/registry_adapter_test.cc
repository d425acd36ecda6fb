#include "ntl/server/registry_adapter.h"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <future>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "ntl/identity.h"
#include "ntl/internal/safe_dir.h"
#include "ntl/names.h"
#include "ntl/registry/registry.h"
#include "ntl/registry/server_identity.h"
#include "ntl/server/admission.h"
#include "ntl/server/software_partition.h"
#include "ntl/server/test_client.h"
#include "ntl/wire/messages.h"
#include "trustlink/base.h"

namespace trustlink::ntl::server {
namespace {

using testing::TestClient;
using testing::TestClientOptions;

class RegistryAdapterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::string(getenv("TEST_TMPDIR")) + "/appliance-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    auto reg = registry::Registry::Open(root_, true);
    ASSERT_TRUE(reg.ok()) << reg.status();
    reg_ = std::shared_ptr<registry::Registry>(std::move(*reg));
    bool created = false;
    auto ids = registry::EnsureServerIdentity(root_, "127.0.0.1",
                                              KeyType::kEd25519, &created);
    ASSERT_TRUE(ids.ok()) << ids.status();
    EXPECT_TRUE(created);
    auto name = CanonicalizeName("127.0.0.1");
    ASSERT_TRUE(name.ok());
    IdentityOptions io;
    io.for_server = false;
    auto client = CreateIdentity(*name, io);
    ASSERT_TRUE(client.ok()) << client.status();
    client_cert_ = client->cert.Pem();
    client_key_ = *PrivateKeyToPem(client->key.get());
    registry::ClientRegistration r;
    r.label = "web1";
    r.name = "127.0.0.1";
    r.name_is_ip = true;
    r.certificate_pem = client_cert_;
    ASSERT_TRUE(reg_->RegisterClient(r).ok());
    ASSERT_TRUE(reg_->CreatePartition("p1", "Partition One", "").ok());
    ASSERT_TRUE(reg_->AssignPartition("web1", "p1").ok());

    directory_ = std::make_shared<RegistryDirectory>(reg_);
    auto creds = RegistryCredentials::Create(directory_, root_);
    ASSERT_TRUE(creds.ok()) << creds.status();
    ServerOptions o;
    ApplySettings(reg_->Snapshot()->settings(), &o);
    EXPECT_EQ(o.port, 1792);
    o.listen_address = "127.0.0.1";
    o.port = 0;
    o.threads = 1;
    o.log = [](absl::string_view) {};
    auto s = Server::Create(o, directory_, *creds);
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::move(*s);
    server_->SetPartitionHandler(std::make_shared<SoftwarePartitionHandler>());
    ASSERT_TRUE(server_->Start().ok());
  }

  std::unique_ptr<TestClient> Admitted() {
    TestClientOptions o;
    o.cert_pem = client_cert_;
    o.key_pem = client_key_;
    auto c = TestClient::Connect(server_->port(), o);
    EXPECT_TRUE(c.ok()) << c.status();
    if (!c.ok()) {
      return nullptr;
    }
    auto w = (*c)->Hello();
    EXPECT_TRUE(w.ok()) << w.status();
    if (!w.ok() || w->type != wire::FrameType::kWelcome) {
      return nullptr;
    }
    auto welcome = wire::DecodeWelcome(w->payload);
    EXPECT_TRUE(welcome.ok());
    EXPECT_EQ(welcome->client_label, "web1");
    EXPECT_EQ(welcome->slots.size(), 1u);
    return std::move(*c);
  }

  std::string root_, client_cert_, client_key_;
  std::shared_ptr<registry::Registry> reg_;
  std::shared_ptr<RegistryDirectory> directory_;
  std::unique_ptr<Server> server_;
};

TEST_F(RegistryAdapterTest, AdmitsRegisteredClientAndDropsItOnDelete) {
  auto c = Admitted();
  ASSERT_NE(c, nullptr);
  auto r = c->Call("p1", kOpEcho, "via registry");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->second, "via registry");
  ASSERT_TRUE(reg_->DeleteClient("web1").ok());
  // From the commit's end: its fsyncs can take seconds on a busy disk, and what
  // is under test is how soon the server acts on it (a tick, then the goaway).
  // A server that never noticed would leave Read waiting for its deadline.
  const absl::Time committed = absl::Now();
  auto f = c->Read();
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->type, wire::FrameType::kGoAway);
  EXPECT_LT(absl::Now() - committed, absl::Seconds(3));
}

TEST_F(RegistryAdapterTest, MaxLinksPerClientSettingAppliesToTheNextLink) {
  auto a = Admitted();
  ASSERT_NE(a, nullptr);
  auto b = Admitted();
  ASSERT_NE(b, nullptr);
  auto updated = reg_->UpdateSettings([](registry::Settings* s) {
    s->max_links_per_client = 2;
    return absl::OkStatus();
  });
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(directory_->Snapshot()->max_links_per_client(), 2u);
  // No restart: the running server refuses a third link at once.
  TestClientOptions o;
  o.cert_pem = client_cert_;
  o.key_pem = client_key_;
  auto c = TestClient::Connect(server_->port(), o);
  ASSERT_TRUE(c.ok()) << c.status();
  auto f = (*c)->Hello();
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_EQ(f->type, wire::FrameType::kGoAway);
  EXPECT_EQ(wire::DecodeClosing(f->payload)->status, TL_E_RESOURCE_EXHAUSTED);
  // The links already up stay.
  auto r = a->Call("p1", kOpEcho, "still here");
  ASSERT_TRUE(r.ok()) << r.status();
}

TEST_F(RegistryAdapterTest, RegenCertKeepsOverlapUntilDropped) {
  auto c = Admitted();
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(reg_->RegenerateServerCertificate("", KeyType::kEd25519).ok());
  // The next tick serves the new certificate; the old link stays during the
  // overlap.
  auto n = Admitted();
  ASSERT_NE(n, nullptr);
  auto r = c->Call("p1", kOpEcho, "overlap");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(reg_->DropOldServerCertificates().ok());
  auto f = c->Read();
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->type, wire::FrameType::kGoAway);
  auto still = n->Call("p1", kOpEcho, "new cert");
  // `n` may have connected before the loop noticed the regen (then it used the
  // old cert).
  if (still.ok()) {
    EXPECT_EQ(still->second, "new cert");
  }
}

// A hostname registration with no `client hostip map` is checked against what
// the name resolves to; "localhost" resolves through the hosts file, so no
// query leaves the machine.
TEST_F(RegistryAdapterTest, HostnameClientIsAdmittedFromItsResolvedAddress) {
  ASSERT_TRUE(reg_->Snapshot()->settings().ipcheck);
  auto name = CanonicalizeName("localhost");
  ASSERT_TRUE(name.ok());
  IdentityOptions io;
  io.for_server = false;
  auto client = CreateIdentity(*name, io);
  ASSERT_TRUE(client.ok()) << client.status();
  registry::ClientRegistration r;
  r.label = "byname";
  r.name = "localhost";
  r.name_is_ip = false;
  r.certificate_pem = client->cert.Pem();
  ASSERT_TRUE(reg_->DeleteClient("web1").ok());
  ASSERT_TRUE(reg_->RegisterClient(r).ok());
  ASSERT_TRUE(reg_->AssignPartition("byname", "p1").ok());
  TestClientOptions o;
  o.cert_pem = client->cert.Pem();
  o.key_pem = *PrivateKeyToPem(client->key.get());
  // The adapter sees registry changes through its watch; retry briefly until it
  // has.
  absl::StatusOr<testing::Frame> w = absl::UnknownError("not tried");
  for (const absl::Time deadline = absl::Now() + absl::Seconds(5);
       absl::Now() < deadline;) {
    auto c = TestClient::Connect(server_->port(), o);
    ASSERT_TRUE(c.ok()) << c.status();
    w = (*c)->Hello();
    if (w.ok() && w->type == wire::FrameType::kWelcome) {
      break;
    }
  }
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->type, wire::FrameType::kWelcome);
}

// The adapter never resolves (its snapshot runs on the event loop): it hands
// the hostname to the engine, and a mapped IP replaces the lookup.
TEST_F(RegistryAdapterTest, HostnameRecordCarriesTheNameAndMappedIps) {
  auto name = CanonicalizeName("web2.invalid");
  ASSERT_TRUE(name.ok());
  IdentityOptions io;
  io.for_server = false;
  auto client = CreateIdentity(*name, io);
  ASSERT_TRUE(client.ok()) << client.status();
  registry::ClientRegistration r;
  r.label = "web2";
  r.name = "web2.invalid";
  r.name_is_ip = false;
  r.certificate_pem = client->cert.Pem();
  ASSERT_TRUE(reg_->RegisterClient(r).ok());
  const std::string fp = client->cert.Sha256Fingerprint();
  auto rec = directory_->Snapshot()->FindByFingerprint(fp);
  ASSERT_NE(rec, nullptr);
  EXPECT_EQ(rec->resolve_hostname, "web2.invalid");
  EXPECT_TRUE(rec->allowed_ips.empty());
  EXPECT_TRUE(NeedsResolution(*directory_->Snapshot(), *rec));
  ASSERT_TRUE(reg_->MapHostIp("web2", "127.0.0.9").ok());
  directory_->generation();
  rec = directory_->Snapshot()->FindByFingerprint(fp);
  ASSERT_NE(rec, nullptr);
  EXPECT_EQ(rec->allowed_ips, std::vector<std::string>{"127.0.0.9"});
  EXPECT_FALSE(NeedsResolution(*directory_->Snapshot(), *rec));
}

// An admin command mid-commit holds the registry lock through its fsyncs,
// which take seconds on a busy disk. The event loops must go on admitting from
// the last view meanwhile, and catch up once it is done.
TEST_F(RegistryAdapterTest, AdmissionDoesNotWaitForAnAdminCommandMidCommit) {
  auto dir = internal::SafeDir::Open(root_, false);
  ASSERT_TRUE(dir.ok()) << dir.status();
  auto writer = dir->Lock("lock");
  ASSERT_TRUE(writer.ok()) << writer.status();
  // The writer has renamed the new generation into place and is fsyncing.
  const uint64_t next = reg_->generation() + 1;
  ASSERT_TRUE(
      dir->WriteFileAtomic("generation", absl::StrCat(next, "\n"), 0600).ok());

  std::future<bool> admitted =
      std::async(std::launch::async, [this] { return Admitted() != nullptr; });
  const bool in_time =
      admitted.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
  *writer = internal::FileLock();  // the writer is done
  ASSERT_TRUE(in_time) << "admission waited for the admin command's lock";
  EXPECT_TRUE(admitted.get());

  // Its change is seen at the next look, although the watch fd was drained.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (directory_->generation() != next && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));  // polling under a deadline
  }
  EXPECT_EQ(directory_->generation(), next);
}

// A server's event loops share one directory. The loop that finds the watch
// readable drains it and catches up; a second loop that looks in between finds
// the watch quiet, and must then be answered with the new generation, not the
// view from before the change (with it, a client deleted a moment ago was
// admitted once).
TEST(RegistryDirectoryTest, ALoopFindingTheWatchDrainedWaitsForTheCatchUp) {
  const std::string root =
      std::string(getenv("TEST_TMPDIR")) + "/appliance-two-loops";
  auto opened = registry::Registry::Open(root, true);
  ASSERT_TRUE(opened.ok()) << opened.status();
  std::shared_ptr<registry::Registry> reg = std::move(*opened);
  ASSERT_GE(reg->watch_fd(), 0) << "inotify is needed for this test";
  RegistryDirectory directory(reg);
  const uint64_t before = directory.generation();
  // Another process (ntlsh) commits a change.
  auto admin = registry::Registry::Open(root, false);
  ASSERT_TRUE(admin.ok()) << admin.status();
  ASSERT_TRUE((*admin)->CreatePartition("p2", "Partition Two", "").ok());

  std::atomic<bool> hooked{false};
  std::future<uint64_t> second_loop;
  reg->SetAfterDrainForTest([&] {
    if (hooked.exchange(true)) return;
    second_loop =
        std::async(std::launch::async, [&] { return directory.generation(); });
    // Hold the first loop here long enough for the second to answer, if it can.
    second_loop.wait_for(std::chrono::milliseconds(300));
  });
  const uint64_t first_loop = directory.generation();
  reg->SetAfterDrainForTest(nullptr);
  ASSERT_TRUE(hooked) << "the first loop did not refresh";
  EXPECT_GT(first_loop, before);
  EXPECT_EQ(second_loop.get(), first_loop)
      << "the second loop answered from the view before the change";
}

TEST_F(RegistryAdapterTest, SnapshotsCarryTheKeepAliveAndReceiveTimeout) {
  auto before = directory_->Snapshot()->link_settings();
  ASSERT_TRUE(before.has_value());
  EXPECT_EQ(before->keepalive_idle_seconds, 60);
  EXPECT_EQ(before->receive_timeout, absl::Seconds(20));
  ASSERT_TRUE(reg_->UpdateSettings([](registry::Settings* s) {
                    s->tcp_keepalive = false;
                    s->keepalive_idle_seconds = 30;
                    s->keepalive_interval_seconds = 5;
                    s->keepalive_probes = 3;
                    s->receive_timeout_ms = 1000;
                    return absl::OkStatus();
                  })
                  .ok());
  // The change is seen through the watch, as the event loops see it.
  directory_->generation();
  auto after = directory_->Snapshot()->link_settings();
  ASSERT_TRUE(after.has_value());
  EXPECT_FALSE(after->tcp_keepalive);
  EXPECT_EQ(after->keepalive_idle_seconds, 30);
  EXPECT_EQ(after->keepalive_interval_seconds, 5);
  EXPECT_EQ(after->keepalive_count, 3);
  EXPECT_EQ(after->receive_timeout, absl::Milliseconds(1000));
}

}  // namespace
}  // namespace trustlink::ntl::server
