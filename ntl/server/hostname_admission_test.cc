// Hostname admission over real TLS on loopback: the lookup runs off the event
// loop through an injected Resolver, so these tests can make DNS answer, fail
// or hang (docs/server.md, "Admission").

#include <openssl/ssl.h>

#include <map>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "ntl/internal/mutex.h"
#include "ntl/names.h"
#include "ntl/server/server.h"
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
using testing::TestClient;
using testing::TestClientOptions;

// FakeResolver answers from a table, fails for unknown names, and blocks on
// names marked hanging until Release.
class FakeResolver : public Resolver {
 public:
  void Answer(const std::string& host, std::vector<std::string> ips) {
    internal::MutexLock lock(&mu_);
    answers_[host] = std::move(ips);
  }
  void Hang(const std::string& host) {
    internal::MutexLock lock(&mu_);
    hanging_[host] = true;
  }
  void Release() {
    internal::MutexLock lock(&mu_);
    released_ = true;
    cv_.SignalAll();
  }
  // The server's stop cancels: a hanging lookup ends as if released.
  void Cancel() override { Release(); }
  int calls(const std::string& host) {
    internal::MutexLock lock(&mu_);
    return calls_[host];
  }
  // WaitForCall waits until `host` has been looked up at least once.
  bool WaitForCall(const std::string& host, absl::Duration limit) {
    internal::MutexLock lock(&mu_);
    return cv_.WaitUntil(&mu_, absl::Now() + limit, [&] {
      mu_.AssertHeld();
      return calls_[host] > 0;
    });
  }

  absl::StatusOr<std::vector<std::string>> Resolve(
      const std::string& host) override {
    internal::MutexLock lock(&mu_);
    ++calls_[host];
    cv_.SignalAll();
    if (hanging_[host]) {
      while (!released_) {
        cv_.Wait(&mu_);
      }
      return absl::UnavailableError("released by the test");
    }
    auto it = answers_.find(host);
    if (it == answers_.end()) {
      return absl::NotFoundError("the hostname does not resolve (NXDOMAIN)");
    }
    return it->second;
  }

 private:
  internal::Mutex mu_;
  internal::CondVar cv_;
  std::map<std::string, std::vector<std::string>> answers_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, bool> hanging_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> calls_ ABSL_GUARDED_BY(mu_);
  bool released_ ABSL_GUARDED_BY(mu_) = false;
};

class HostnameAdmissionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    client_ = LoadClientIdentity("client_ed25519");
    other_ = LoadClientIdentity("client_p256");
    resolver_ = std::make_shared<FakeResolver>();
    directory_ = std::make_shared<InMemoryDirectory>();
    directory_->Put(ByName("web1", client_.fingerprint, "web1.example"));
    ClientRecord other = ByName("db1", other_.fingerprint, "");
    other.allowed_ips = {"127.0.0.1"};
    directory_->Put(other);
    auto cred = FixtureServerCredentials();
    ASSERT_TRUE(cred.ok()) << cred.status();
    credentials_ = std::move(*cred);
  }

  void TearDown() override {
    resolver_->Release();
    if (server_) {
      server_->Shutdown(absl::Seconds(2));
    }
  }

  ClientRecord ByName(const std::string& label, const std::string& fp,
                      const std::string& host) {
    ClientRecord r;
    r.label = label;
    r.fingerprint = fp;
    r.resolve_hostname = host;
    r.partitions = {{"p1", "Partition One", "1001"}};
    return r;
  }

  // StartServer runs one event loop, so anything that blocked it would block
  // every connection.
  void StartServer(ServerOptions o = {}) {
    o.listen_address = "127.0.0.1";
    o.port = 0;
    o.threads = 1;
    o.resolver = resolver_;
    o.log = [this](absl::string_view l) { log_.Add(l); };
    auto s = Server::Create(o, directory_, credentials_);
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::move(*s);
    server_->SetPartitionHandler(std::make_shared<SoftwarePartitionHandler>());
    ASSERT_TRUE(server_->Start().ok());
  }

  TestClientOptions Opts() { return ClientOptions(client_); }
  TestClientOptions OtherOpts() { return ClientOptions(other_); }

  std::unique_ptr<TestClient> Admitted(TestClientOptions o) {
    auto c = TestClient::Connect(server_->port(), o);
    EXPECT_TRUE(c.ok()) << c.status();
    if (!c.ok()) {
      return nullptr;
    }
    auto w = (*c)->Hello();
    EXPECT_TRUE(w.ok()) << w.status();
    if (!w.ok() || w->type != wire::FrameType::kWelcome) {
      ADD_FAILURE() << "no welcome";
      return nullptr;
    }
    return std::move(*c);
  }

  // Refused connects and expects the TLS alert `alert`.
  void Refused(TestClientOptions o, int alert) {
    auto c = TestClient::Connect(server_->port(), o);
    if (!c.ok()) {
      return;  // refused inside the handshake
    }
    auto f = (*c)->Hello();
    ASSERT_FALSE(f.ok()) << "expected a refusal";
    EXPECT_EQ((*c)->alert(), alert) << f.status();
  }

  ClientIdentity client_, other_;
  std::shared_ptr<FakeResolver> resolver_;
  std::shared_ptr<InMemoryDirectory> directory_;
  std::shared_ptr<StaticCredentials> credentials_;
  std::unique_ptr<Server> server_;
  LogLines log_;
};

TEST_F(HostnameAdmissionTest, ClientWhoseNameResolvesToItsSourceIsAdmitted) {
  resolver_->Answer("web1.example", {"10.1.1.1", "127.0.0.1"});
  StartServer();
  auto c = Admitted(Opts());
  ASSERT_NE(c, nullptr);
  auto r = c->Call("p1", kOpEcho, "by name");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->second, "by name");
  EXPECT_EQ(resolver_->calls("web1.example"), 1);
  EXPECT_EQ(server_->hostname_lookups(), 1u);
}

TEST_F(HostnameAdmissionTest, ClientWhoseNameResolvesElsewhereIsRefused) {
  resolver_->Answer("web1.example", {"10.1.1.1"});
  StartServer();
  Refused(Opts(), SSL_AD_ACCESS_DENIED);
  const std::string line = log_.Find("refused", "rule=ipcheck");
  EXPECT_TRUE(absl::StrContains(line, "hostname 'web1.example'")) << line;
  EXPECT_TRUE(absl::StrContains(line, "resolves to 10.1.1.1")) << line;
}

TEST_F(HostnameAdmissionTest, NameThatDoesNotResolveIsRefusedNamingDns) {
  StartServer();
  Refused(Opts(), SSL_AD_ACCESS_DENIED);
  const std::string line = log_.Find("refused", "rule=dns");
  EXPECT_TRUE(absl::StrContains(line, "DNS lookup of 'web1.example'")) << line;
  EXPECT_TRUE(absl::StrContains(line, "NXDOMAIN")) << line;
  EXPECT_TRUE(absl::StrContains(line, "tl_registry_map_host_ip")) << line;
}

// The heart of it: a dead DNS server must not stall the loop. One loop; the
// hostname client's lookup hangs; another client handshakes and calls on the
// same loop meanwhile; the hanging one is refused at the lookup deadline.
TEST_F(HostnameAdmissionTest, HangingLookupBlocksNeitherLoopNorOtherClients) {
  resolver_->Hang("web1.example");
  ServerOptions o;
  // Long enough for the other client's handshake and call under a sanitizer on
  // a busy host: they must finish before the hung lookup's deadline.
  o.resolve_timeout = absl::Seconds(6);
  o.handshake_timeout = absl::Seconds(30);
  StartServer(o);
  const absl::Time start = absl::Now();
  absl::Time refused_at;
  int alert = -1;
  absl::Status hung_result;
  std::thread hung([&] {
    auto c = TestClient::Connect(server_->port(), Opts());
    if (!c.ok()) {
      hung_result = c.status();
    } else {
      auto f = (*c)->Hello();
      hung_result = f.ok() ? absl::OkStatus() : f.status();
      alert = (*c)->alert();
    }
    refused_at = absl::Now();
  });
  ASSERT_TRUE(resolver_->WaitForCall("web1.example", absl::Seconds(10)));
  // The first client is now paused in its handshake, waiting for DNS.
  const absl::Time other_start = absl::Now();
  auto other = Admitted(OtherOpts());
  ASSERT_NE(other, nullptr);
  auto r = other->Call("p1", kOpEcho, "while DNS hangs");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->second, "while DNS hangs");
  const absl::Time other_done = absl::Now();
  RecordProperty(
      "other_client_handshake_and_call_us",
      static_cast<int>(absl::ToInt64Microseconds(other_done - other_start)));
  EXPECT_EQ(log_.Find("rule=dns"), "")
      << "the other client should finish before the lookup deadline";
  EXPECT_EQ(server_->GetStatus().unauthenticated, 1);
  hung.join();
  EXPECT_LT(other_done, refused_at);
  EXPECT_FALSE(hung_result.ok());
  EXPECT_EQ(alert, SSL_AD_ACCESS_DENIED) << hung_result;
  RecordProperty(
      "hung_client_refused_after_ms",
      static_cast<int>(absl::ToInt64Milliseconds(refused_at - start)));
  EXPECT_GE(refused_at - start, absl::Seconds(6));
  EXPECT_LT(refused_at - start, absl::Seconds(20));
  const std::string line = log_.Find("refused", "rule=dns");
  EXPECT_TRUE(absl::StrContains(line, "client 'web1'")) << line;
  EXPECT_TRUE(absl::StrContains(line, "DNS lookup of 'web1.example'")) << line;
  EXPECT_TRUE(absl::StrContains(line, "no answer within 6s")) << line;
  EXPECT_TRUE(absl::StrContains(line, "tl_registry_map_host_ip")) << line;
  EXPECT_EQ(resolver_->calls("web1.example"), 1);
}

TEST_F(HostnameAdmissionTest, CachedAnswerAvoidsASecondLookup) {
  resolver_->Answer("web1.example", {"127.0.0.1"});
  StartServer();
  for (int i = 0; i < 3; ++i) {
    auto c = Admitted(Opts());  // full handshakes: no session offered
    ASSERT_NE(c, nullptr);
    EXPECT_FALSE(c->resumed());
  }
  EXPECT_EQ(resolver_->calls("web1.example"), 1);
  EXPECT_EQ(server_->hostname_lookups(), 1u);
}

TEST_F(HostnameAdmissionTest, WithoutCachingEveryHandshakeLooksUp) {
  resolver_->Answer("web1.example", {"127.0.0.1"});
  ServerOptions o;
  o.resolve_cache_ttl = absl::ZeroDuration();  // nothing stays cached
  StartServer(o);
  for (int i = 0; i < 2; ++i) {
    auto c = Admitted(Opts());
    ASSERT_NE(c, nullptr);
  }
  EXPECT_EQ(resolver_->calls("web1.example"), 2);
}

// Mapped addresses bypass the resolver, and a registry change that maps them
// takes effect at once, whatever the cache holds.
TEST_F(HostnameAdmissionTest, MappedAddressBypassesTheResolver) {
  resolver_->Answer("web1.example", {"10.1.1.1"});
  StartServer();
  Refused(Opts(), SSL_AD_ACCESS_DENIED);
  EXPECT_EQ(resolver_->calls("web1.example"), 1);
  ClientRecord mapped = ByName("web1", client_.fingerprint, "web1.example");
  mapped.allowed_ips = {"127.0.0.1"};
  directory_->Put(mapped);
  auto c = Admitted(Opts());
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(resolver_->calls("web1.example"), 1);
}

TEST_F(HostnameAdmissionTest, MappedAddressNeverCallsAHangingResolver) {
  resolver_->Hang("web1.example");
  ClientRecord mapped = ByName("web1", client_.fingerprint, "web1.example");
  mapped.allowed_ips = {"127.0.0.1"};
  directory_->Put(mapped);
  StartServer();
  auto c = Admitted(Opts());
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(resolver_->calls("web1.example"), 0);
  EXPECT_EQ(server_->hostname_lookups(), 0u);
}

TEST_F(HostnameAdmissionTest, IpcheckOffNeedsNoLookup) {
  resolver_->Hang("web1.example");
  directory_->SetIpCheck(false);
  StartServer();
  auto c = Admitted(Opts());
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(resolver_->calls("web1.example"), 0);
}

TEST_F(HostnameAdmissionTest, UnregisteredCertificateTriggersNoLookup) {
  resolver_->Hang("web1.example");
  directory_->Remove(client_.fingerprint);
  StartServer();
  Refused(Opts(), SSL_AD_CERTIFICATE_UNKNOWN);
  EXPECT_EQ(resolver_->calls("web1.example"), 0);
}

// With the answer cached, the ticket is accepted and the resumed handshake
// needs no lookup.
TEST_F(HostnameAdmissionTest, ResumptionWithCachedAnswerResumes) {
  resolver_->Answer("web1.example", {"127.0.0.1"});
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
  auto c = Admitted(o);
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(c->resumed());
  EXPECT_EQ(resolver_->calls("web1.example"), 1);
  EXPECT_NE(log_.Find("authenticated", "resumed=yes"), "");
}

// Without a cached answer the ticket is refused rather than waited on: a full
// handshake follows, which pauses for the lookup and is admitted.
TEST_F(HostnameAdmissionTest, ResumptionWithoutCachedAnswerFallsBackToFull) {
  resolver_->Answer("web1.example", {"127.0.0.1"});
  ServerOptions o;
  o.resolve_cache_ttl = absl::ZeroDuration();  // nothing stays cached
  StartServer(o);
  bssl::UniquePtr<SSL_SESSION> session;
  {
    auto c = Admitted(Opts());
    ASSERT_NE(c, nullptr);
    ASSERT_NE(c->session(), nullptr);
    SSL_SESSION_up_ref(c->session());
    session.reset(c->session());
  }
  TestClientOptions opts = Opts();
  opts.session = session.get();
  auto c = Admitted(opts);
  ASSERT_NE(c, nullptr);
  EXPECT_FALSE(c->resumed());
  EXPECT_EQ(resolver_->calls("web1.example"), 2);
}

// A ticket is never honoured on a stale answer: with nothing cached it is
// refused, and the full handshake's fresh lookup (the name moved away) refuses
// the client.
TEST_F(HostnameAdmissionTest, ResumptionIsRefusedWhenTheNameMovedAway) {
  resolver_->Answer("web1.example", {"127.0.0.1"});
  ServerOptions o;
  o.resolve_cache_ttl = absl::ZeroDuration();  // nothing stays cached
  StartServer(o);
  bssl::UniquePtr<SSL_SESSION> session;
  {
    auto c = Admitted(Opts());
    ASSERT_NE(c, nullptr);
    ASSERT_NE(c->session(), nullptr);
    SSL_SESSION_up_ref(c->session());
    session.reset(c->session());
  }
  resolver_->Answer("web1.example", {"10.1.1.1"});
  TestClientOptions opts = Opts();
  opts.session = session.get();
  Refused(opts, SSL_AD_ACCESS_DENIED);
  EXPECT_NE(log_.Find("refused", "resolves to 10.1.1.1"), "");
}

// A live link keeps the answer it was admitted with; a registry change that
// gives the client another hostname is looked up (off the loop) and judged
// when the answer comes, while the loop keeps serving the link.
TEST_F(HostnameAdmissionTest, ChangedHostnameIsLookedUpAndJudgedOnTheLiveLink) {
  resolver_->Answer("web1.example", {"127.0.0.1"});
  resolver_->Answer("web1.elsewhere", {"10.1.1.1"});
  StartServer();
  auto c = Admitted(Opts());
  ASSERT_NE(c, nullptr);
  // An unrelated change: the link is judged on its own answer, no lookup.
  ClientRecord same = ByName("web1", client_.fingerprint, "web1.example");
  same.partitions.push_back({"p2", "Partition Two", "1002"});
  directory_->Put(same);
  auto f = c->Read();
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->type, wire::FrameType::kSlotsChanged);
  EXPECT_EQ(resolver_->calls("web1.example"), 1);
  directory_->Put(ByName("web1", client_.fingerprint, "web1.elsewhere"));
  f = c->Read();
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->type, wire::FrameType::kGoAway);
  EXPECT_EQ(resolver_->calls("web1.elsewhere"), 1);
  EXPECT_NE(log_.Find("closing", "resolves to 10.1.1.1"), "");
}

}  // namespace
}  // namespace trustlink::ntl::server
