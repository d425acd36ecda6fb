#include "ntl/registry/registry.h"

#include <poll.h>
#include <sys/stat.h>

#include <atomic>
#include <functional>
#include <future>
#include <string>
#include <thread>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ntl/internal/safe_dir.h"
#include "ntl/registry/record_format.h"
#include "ntl/registry/test_util.h"
#include "ntl/status.h"

namespace trustlink::ntl::registry {
namespace {

using testing::ClientCertPem;
using ::testing::ElementsAre;
using testing::FreshRoot;
using ::testing::HasSubstr;

#define ASSERT_OK(expr)                    \
  do {                                     \
    auto _st = (expr);                     \
    ASSERT_TRUE(_st.ok()) << _st.status(); \
  } while (0)

absl::Status StatusOf(const absl::Status& s) { return s; }
template <typename T>
absl::Status StatusOf(const absl::StatusOr<T>& s) {
  return s.status();
}

#define EXPECT_TL_ERROR(expr, code, words)                     \
  do {                                                         \
    absl::Status _st = StatusOf(expr);                         \
    EXPECT_EQ(ToTlStatus(_st), code) << _st;                   \
    EXPECT_THAT(std::string(_st.message()), HasSubstr(words)); \
  } while (0)

ClientRegistration Reg(const std::string& label, const std::string& name,
                       bool ip, const std::string& cert_name = "") {
  ClientRegistration r;
  r.label = label;
  r.name = name;
  r.name_is_ip = ip;
  r.certificate_pem = ClientCertPem(cert_name.empty() ? name : cert_name);
  return r;
}

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = FreshRoot("registry");
    auto reg = Registry::Open(root_);
    ASSERT_TRUE(reg.ok()) << reg.status();
    reg_ = std::move(*reg);
  }
  std::string root_;
  std::unique_ptr<Registry> reg_;
};

TEST_F(RegistryTest, RegistersAndFindsByFingerprintLabelAndIp) {
  auto r = reg_->RegisterClient(Reg("web 1", "web1.example.com", false));
  ASSERT_TRUE(r.ok()) << r.status();
  auto ip = reg_->RegisterClient(Reg("db", "10.0.0.7", true));
  ASSERT_TRUE(ip.ok()) << ip.status();
  auto snap = reg_->Snapshot();
  EXPECT_EQ(snap->client_count(), 2u);
  const ClientRecord* c = snap->FindClientByFingerprint(r->client.fingerprint);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->label, "web 1");
  EXPECT_EQ(c->name, "web1.example.com");
  EXPECT_EQ(c->name_kind, NameKind::kHostname);
  EXPECT_EQ(snap->FindClientByIp("10.0.0.7")->label, "db");
  EXPECT_EQ(snap->FindClientByLabel("db")->name_kind, NameKind::kIPv4);
  EXPECT_TRUE(RegistrySnapshot::ClientAllowsSourceIp(
      *snap->FindClientByLabel("db"), "10.0.0.7"));
  EXPECT_EQ(snap->EffectiveOttExpirySeconds(*c), 300);
  EXPECT_EQ(snap->FindClientByFingerprint(std::string(95, 'A')), nullptr);

  // A second process (here: a second Registry) sees the same thing from disk.
  auto again = Registry::Open(root_, false);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)
                ->Snapshot()
                ->FindClientByFingerprint(r->client.fingerprint)
                ->label,
            "web 1");
  EXPECT_EQ((*again)->generation(), reg_->generation());
}

TEST_F(RegistryTest, HostnameMatchIgnoresCaseAndIpv6IsCanonical) {
  ClientRegistration r =
      Reg("a", "Web1.Example.COM", false, "web1.example.com");
  auto res = reg_->RegisterClient(r);
  ASSERT_TRUE(res.ok()) << res.status();
  EXPECT_EQ(res->client.name, "web1.example.com");
  ClientRegistration v6 =
      Reg("b", "2001:0db8:0:0:0:0:0:29", true, "2001:db8::29");
  res = reg_->RegisterClient(v6);
  ASSERT_TRUE(res.ok()) << res.status();
  EXPECT_EQ(res->client.name, "2001:db8::29");
  EXPECT_FALSE(
      res->warnings.empty());  // The reference product would have failed here.
}

TEST_F(RegistryTest, RefusesBadInput) {
  ClientRegistration r = Reg("ok", "web1", false);
  ClientRegistration bad = r;
  bad.certificate_pem = "hello, not a certificate";
  EXPECT_TL_ERROR(reg_->RegisterClient(bad), TL_E_CERT_INVALID, "certificate");
  bad.certificate_pem =
      "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE "
      "KEY-----\n";
  EXPECT_TL_ERROR(reg_->RegisterClient(bad), TL_E_CERT_INVALID, "key");
  bad = Reg("ok", "web1", false, "web2");
  EXPECT_TL_ERROR(reg_->RegisterClient(bad), TL_E_CERT_NAME_MISMATCH,
                  "with force");
  bad.force_name_mismatch = true;
  auto forced = reg_->RegisterClient(bad);
  ASSERT_TRUE(forced.ok()) << forced.status();
  EXPECT_THAT(forced->warnings, ::testing::Contains(HasSubstr("web2")));
  for (const std::string& label :
       {std::string("../x"), std::string(""), std::string("a/b"),
        std::string(65, 'x'), std::string("-rf"), std::string("tab\there")}) {
    ClientRegistration l = r;
    l.label = label;
    EXPECT_TL_ERROR(reg_->RegisterClient(l), TL_E_NAME_INVALID, "label");
  }
  ClientRegistration n = r;
  n.label = "n";
  n.name = "10.1.1.1";
  EXPECT_TL_ERROR(reg_->RegisterClient(n), TL_E_NAME_INVALID, "-ip");
  n.name = "web1";
  n.name_is_ip = true;
  EXPECT_TL_ERROR(reg_->RegisterClient(n), TL_E_NAME_INVALID, "not an IP");
  n.name = std::string(300, 'a');
  n.name_is_ip = false;
  EXPECT_EQ(ToTlStatus(reg_->RegisterClient(n).status()), TL_E_NAME_INVALID);
  n = r;
  n.label = "big";
  n.certificate_pem = std::string(kMaxCertificatePemSize + 1, 'A');
  EXPECT_TL_ERROR(reg_->RegisterClient(n), TL_E_CERT_INVALID, "larger");
  n = r;
  n.label = "ott";
  n.ott_expiry_seconds = -5;
  EXPECT_TL_ERROR(reg_->RegisterClient(n), TL_E_OUT_OF_RANGE, "OTT expiry");
  EXPECT_EQ(reg_->Snapshot()->client_count(), 1u);
}

TEST_F(RegistryTest, RefusesDuplicatesNamingTheExistingClient) {
  ClientRegistration r = Reg("first", "10.0.0.1", true);
  ASSERT_OK(reg_->RegisterClient(r));
  ClientRegistration same_cert = r;
  same_cert.label = "second";
  EXPECT_TL_ERROR(reg_->RegisterClient(same_cert), TL_E_ALREADY_EXISTS,
                  "'first'");
  ClientRegistration same_ip = Reg("third", "10.0.0.1", true);
  EXPECT_TL_ERROR(reg_->RegisterClient(same_ip), TL_E_ALREADY_EXISTS,
                  "'first'");
  ClientRegistration same_label = Reg("first", "10.0.0.2", true);
  EXPECT_TL_ERROR(reg_->RegisterClient(same_label), TL_E_ALREADY_EXISTS,
                  "tl_registry_replace_certificate");
  ASSERT_OK(reg_->RegisterClient(Reg("host", "h1", false)));
  EXPECT_TL_ERROR(reg_->MapHostIp("host", "10.0.0.1"), TL_E_ALREADY_EXISTS,
                  "'first'");
}

TEST_F(RegistryTest, ReplacesCertificateInOneStep) {
  auto r = reg_->RegisterClient(Reg("c", "c1.example", false));
  ASSERT_TRUE(r.ok());
  std::string old_fp = r->client.fingerprint;
  auto replaced =
      reg_->ReplaceCertificate("c", ClientCertPem("c1.example"), false);
  ASSERT_TRUE(replaced.ok()) << replaced.status();
  EXPECT_NE(replaced->client.fingerprint, old_fp);
  auto snap = reg_->Snapshot();
  EXPECT_EQ(snap->FindClientByFingerprint(old_fp), nullptr);
  EXPECT_EQ(snap->FindClientByFingerprint(replaced->client.fingerprint)->label,
            "c");
  EXPECT_TL_ERROR(reg_->ReplaceCertificate("c", ClientCertPem("other"), false),
                  TL_E_CERT_NAME_MISMATCH, "other");
  EXPECT_TL_ERROR(reg_->ReplaceCertificate("nobody", ClientCertPem("x"), false),
                  TL_E_NOT_FOUND, "nobody");
}

TEST_F(RegistryTest, DeletesClients) {
  auto r = reg_->RegisterClient(Reg("c", "10.9.9.9", true));
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(reg_->DeleteClient("c").ok());
  EXPECT_EQ(reg_->Snapshot()->FindClientByFingerprint(r->client.fingerprint),
            nullptr);
  EXPECT_EQ(reg_->Snapshot()->FindClientByIp("10.9.9.9"), nullptr);
  EXPECT_TL_ERROR(reg_->DeleteClient("c"), TL_E_NOT_FOUND, "client list");
  // The label and the IP are free again.
  ASSERT_OK(reg_->RegisterClient(Reg("c", "10.9.9.9", true)));
}

TEST_F(RegistryTest, MapsAndUnmapsHostIps) {
  ASSERT_OK(reg_->RegisterClient(Reg("h", "h.example", false)));
  ASSERT_OK(reg_->RegisterClient(Reg("i", "10.0.0.5", true)));
  auto m = reg_->MapHostIp("h", "2001:DB8::0:1");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_THAT(m->client.host_ips, ElementsAre("2001:db8::1"));
  auto again = reg_->MapHostIp("h", "2001:db8::1");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->changed);
  EXPECT_EQ(reg_->Snapshot()->FindClientByIp("2001:db8::1")->label, "h");
  EXPECT_TL_ERROR(reg_->MapHostIp("i", "10.0.0.6"), TL_E_FAILED_PRECONDITION,
                  "registered by host");
  EXPECT_TL_ERROR(reg_->MapHostIp("h", "not-an-ip"), TL_E_NAME_INVALID,
                  "not an IP");
  ASSERT_OK(reg_->UnmapHostIp("h", "2001:db8::1"));
  EXPECT_EQ(reg_->Snapshot()->FindClientByIp("2001:db8::1"), nullptr);
  EXPECT_TL_ERROR(reg_->UnmapHostIp("h", "2001:db8::1"), TL_E_NOT_FOUND,
                  "not mapped");
}

TEST_F(RegistryTest, PartitionsAndAssignments) {
  ASSERT_OK(reg_->RegisterClient(Reg("c", "c.example", false)));
  ASSERT_OK(reg_->RegisterClient(Reg("d", "d.example", false)));
  auto p = reg_->CreatePartition("par1", "first partition", "");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->serial, "1000001");
  auto p2 = reg_->CreatePartition("par2", "", "77");
  ASSERT_TRUE(p2.ok());
  EXPECT_TL_ERROR(reg_->CreatePartition("par1", "", ""), TL_E_ALREADY_EXISTS,
                  "par1");
  EXPECT_TL_ERROR(reg_->CreatePartition("par3", "", "77"), TL_E_ALREADY_EXISTS,
                  "par2");
  EXPECT_TL_ERROR(reg_->CreatePartition("../p", "", ""), TL_E_NAME_INVALID,
                  "partition");
  EXPECT_TL_ERROR(reg_->CreatePartition("p", "", "12a"), TL_E_NAME_INVALID,
                  "serial");

  auto a = reg_->AssignPartition("c", "par1");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(a->changed);
  a = reg_->AssignPartition("c", "par1");
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE(a->changed);
  EXPECT_THAT(a->warnings, ElementsAre(HasSubstr("already assigned")));
  ASSERT_OK(reg_->AssignPartition("d", "par1"));
  ASSERT_OK(reg_->AssignPartition("c", "par2"));
  EXPECT_TL_ERROR(reg_->AssignPartition("c", "nope"), TL_E_NOT_FOUND,
                  "tl_registry_list_partitions");
  auto snap = reg_->Snapshot();
  auto parts = snap->ClientPartitions(*snap->FindClientByLabel("c"));
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0]->name, "par1");
  EXPECT_EQ(parts[1]->serial, "77");

  auto r = reg_->RevokePartition("c", "par2");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->changed);
  r = reg_->RevokePartition("c", "par2");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->changed);
  EXPECT_TL_ERROR(reg_->RevokePartition("c", "nope"), TL_E_NOT_FOUND, "nope");

  EXPECT_TL_ERROR(reg_->DeletePartition("par1", false),
                  TL_E_FAILED_PRECONDITION, "c, d");
  auto lost = reg_->DeletePartition("par1", true);
  ASSERT_TRUE(lost.ok()) << lost.status();
  EXPECT_THAT(*lost, ElementsAre("c", "d"));
  EXPECT_TRUE(reg_->Snapshot()->FindClientByLabel("c")->partitions.empty());
  EXPECT_TL_ERROR(reg_->DeletePartition("par1", true), TL_E_NOT_FOUND, "par1");
  auto unused = reg_->DeletePartition("par2", false);
  ASSERT_TRUE(unused.ok());
  EXPECT_TRUE(unused->empty());
  auto reopened = Registry::Open(root_, false);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_TRUE((*reopened)->Snapshot()->partitions().empty());
}

TEST_F(RegistryTest, SettingsHaveDefaultsAndRanges) {
  Settings s = reg_->Snapshot()->settings();
  EXPECT_EQ(s.port, 1792);
  EXPECT_EQ(s.htl_grace_period_seconds, 60);
  EXPECT_EQ(s.htl_default_ott_expiry_seconds, 300);
  EXPECT_TRUE(s.ipcheck);
  auto updated = reg_->UpdateSettings([](Settings* s) {
    s->ipcheck = false;
    s->keepalive_idle_seconds = 30;
    return absl::OkStatus();
  });
  ASSERT_TRUE(updated.ok());
  EXPECT_FALSE(reg_->Snapshot()->settings().ipcheck);
  EXPECT_TL_ERROR(reg_->UpdateSettings([](Settings* s) {
    s->port = 70000;
    return absl::OkStatus();
  }),
                  TL_E_OUT_OF_RANGE, "port");
  EXPECT_TL_ERROR(reg_->UpdateSettings([](Settings* s) {
    s->htl_grace_period_seconds = 0;
    return absl::OkStatus();
  }),
                  TL_E_OUT_OF_RANGE, "grace");
  auto reopened = Registry::Open(root_, false);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->Snapshot()->settings().keepalive_idle_seconds, 30);
  EXPECT_FALSE((*reopened)->Snapshot()->settings().ipcheck);
}

TEST_F(RegistryTest, AnotherInstanceLearnsOfChangesThroughTheWatchFd) {
  auto server = Registry::Open(root_, false);
  ASSERT_TRUE(server.ok());
  Registry& srv = **server;
  ASSERT_GE(srv.watch_fd(), 0);
  uint64_t g0 = srv.generation();
  auto before = srv.Snapshot();
  ASSERT_TRUE(srv.Refresh().ok());  // Nothing changed: same snapshot.
  EXPECT_EQ(srv.Snapshot(), before);

  auto r = reg_->RegisterClient(Reg("new", "10.2.2.2", true));
  ASSERT_TRUE(r.ok());
  pollfd pfd{srv.watch_fd(), POLLIN, 0};
  ASSERT_EQ(poll(&pfd, 1, 10000),
            1);  // Deadline, not a sleep: it is readable at once.
  ASSERT_TRUE(srv.Refresh().ok());
  EXPECT_GT(srv.generation(), g0);
  EXPECT_EQ(
      srv.Snapshot()->FindClientByFingerprint(r->client.fingerprint)->label,
      "new");
  EXPECT_EQ(before->FindClientByFingerprint(r->client.fingerprint),
            nullptr);              // Immutable.
  EXPECT_EQ(poll(&pfd, 1, 0), 0);  // Drained.

  ASSERT_TRUE(reg_->DeleteClient("new").ok());
  ASSERT_TRUE(srv.Refresh().ok());
  EXPECT_EQ(srv.Snapshot()->FindClientByFingerprint(r->client.fingerprint),
            nullptr);
}

// Runs `refresh` on another thread and waits for it up to a deadline; if it is
// still waiting then, `release` lets it finish. Returns whether it finished in
// time and its status.
std::pair<bool, absl::Status> RefreshWithin(
    absl::Duration deadline, std::function<absl::Status()> refresh,
    const std::function<void()>& release) {
  std::future<absl::Status> done =
      std::async(std::launch::async, std::move(refresh));
  const bool in_time = done.wait_for(absl::ToChronoNanoseconds(deadline)) ==
                       std::future_status::ready;
  if (!in_time) release();
  return {in_time, done.get()};
}

TEST_F(RegistryTest, TryRefreshDoesNotWaitWhileAWriterHoldsTheLock) {
  auto server = Registry::Open(root_, false);
  ASSERT_TRUE(server.ok());
  Registry& srv = **server;
  auto r = reg_->RegisterClient(Reg("new", "10.2.2.2", true));
  ASSERT_TRUE(r.ok());
  // The next admin command is mid-commit (its fsyncs can take seconds): it
  // holds the writer's lock.
  auto dir = internal::SafeDir::Open(root_, false);
  ASSERT_TRUE(dir.ok());
  auto writer = dir->Lock("lock");
  ASSERT_TRUE(writer.ok());
  auto [in_time, st] = RefreshWithin(
      absl::Seconds(10), [&] { return srv.TryRefresh(); },
      [&] { *writer = internal::FileLock(); });
  ASSERT_TRUE(in_time) << "TryRefresh waited for the writer";
  EXPECT_TL_ERROR(st, TL_E_UNAVAILABLE, "held by a writer");
  EXPECT_EQ(srv.Snapshot()->FindClientByFingerprint(r->client.fingerprint),
            nullptr);  // the previous view still serves

  *writer = internal::FileLock();  // the writer is done
  ASSERT_TRUE(srv.TryRefresh().ok());
  const ClientRecord* c =
      srv.Snapshot()->FindClientByFingerprint(r->client.fingerprint);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->label, "new");
}

TEST_F(RegistryTest, ReadersDoNotWaitForEachOther) {
  auto server = Registry::Open(root_, false);
  ASSERT_TRUE(server.ok());
  Registry& srv = **server;
  auto r = reg_->RegisterClient(Reg("new", "10.2.2.2", true));
  ASSERT_TRUE(r.ok());
  // Another reader (an admin command listing clients) holds the lock.
  auto dir = internal::SafeDir::Open(root_, false);
  ASSERT_TRUE(dir.ok());
  auto reader = dir->LockShared("lock");
  ASSERT_TRUE(reader.ok());
  auto [in_time, st] = RefreshWithin(
      absl::Seconds(10), [&] { return srv.Refresh(); },
      [&] { *reader = internal::FileLock(); });
  ASSERT_TRUE(in_time) << "Refresh waited for another reader";
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_NE(srv.Snapshot()->FindClientByFingerprint(r->client.fingerprint),
            nullptr);
  auto opened = RefreshWithin(
      absl::Seconds(10), [&] { return Registry::Open(root_, false).status(); },
      [&] { *reader = internal::FileLock(); });
  EXPECT_TRUE(opened.first) << "Open waited for another reader";
  EXPECT_TRUE(opened.second.ok()) << opened.second;
}

TEST_F(RegistryTest, FullReloadWhenTheJournalNoLongerCoversTheGap) {
  auto server = Registry::Open(root_, false);
  ASSERT_TRUE(server.ok());
  ASSERT_OK(reg_->RegisterClient(Reg("a", "10.3.3.1", true)));
  ASSERT_OK(reg_->RegisterClient(Reg("b", "10.3.3.2", true)));
  // Remove the journal entries, as pruning would after many changes.
  std::string journal = root_ + "/journal";
  auto dir = internal::SafeDir::Open(journal, false);
  ASSERT_TRUE(dir.ok());
  auto names = dir->List();
  ASSERT_TRUE(names.ok());
  for (const std::string& name : *names)
    ASSERT_TRUE(dir->RemoveFile(name).ok());
  ASSERT_TRUE((*server)->Refresh().ok());
  EXPECT_EQ((*server)->Snapshot()->client_count(), 2u);
}

TEST_F(RegistryTest, DamagedFileIsReportedWithFileAndLineAndNothingHalfLoaded) {
  auto server = Registry::Open(root_, false);
  ASSERT_TRUE(server.ok());
  ASSERT_OK(reg_->RegisterClient(Reg("good", "10.4.4.1", true)));
  ASSERT_TRUE((*server)->Refresh().ok());
  std::string id = ClientFileId("good");
  std::string path = root_ + "/clients/" + id;
  std::string text = testing::ReadText(path);
  std::string damaged = text;
  damaged.replace(damaged.find("requirehtl = no"), 15, "requirehtl = maybe");
  testing::WriteText(path, damaged);
  auto broken = Registry::Open(root_, false);
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(ToTlStatus(broken.status()), TL_E_DATA_LOSS);
  EXPECT_THAT(std::string(broken.status().message()),
              HasSubstr(absl::StrCat("clients/", id, " line 7")));

  // A running server keeps its last good view when a change brings a damaged
  // file.
  ASSERT_OK(reg_->RegisterClient(
      Reg("next", "10.4.4.2", true)));  // Journal names "next".
  testing::WriteText(root_ + "/clients/" + ClientFileId("next"),
                     "label = next\n");
  absl::Status st = (*server)->Refresh();
  EXPECT_EQ(ToTlStatus(st), TL_E_DATA_LOSS) << st;
  EXPECT_THAT(std::string(st.message()), HasSubstr(ClientFileId("next")));
  EXPECT_EQ((*server)->Snapshot()->client_count(), 1u);
  EXPECT_NE((*server)->Snapshot()->FindClientByLabel("good"), nullptr);
}

TEST_F(RegistryTest, DetectsInconsistenciesAcrossFiles) {
  ASSERT_OK(reg_->RegisterClient(Reg("x", "10.5.5.1", true)));
  ASSERT_OK(reg_->CreatePartition("p", "", ""));
  ASSERT_OK(reg_->AssignPartition("x", "p"));
  ASSERT_EQ(unlink((root_ + "/partitions/p").c_str()), 0);
  auto broken = Registry::Open(root_, false);
  ASSERT_FALSE(broken.ok());
  EXPECT_THAT(std::string(broken.status().message()),
              HasSubstr("partition 'p'"));
}

// IpClientRecord is a client file's record for `label` at IPv4 `ip`, with a
// fresh certificate, as the registry would write it.
ClientRecord IpClientRecord(const std::string& label, const std::string& ip) {
  ClientRecord c;
  c.label = label;
  c.name_kind = NameKind::kIPv4;
  c.name = ip;
  c.certificate_pem = ClientCertPem(ip);
  c.fingerprint = *FingerprintOfPem(c.certificate_pem);
  return c;
}

TEST_F(RegistryTest,
       ChangesThatADeadWriterDidNotAnnounceAreAnnouncedByTheNext) {
  auto server = Registry::Open(root_, false);
  ASSERT_TRUE(server.ok());
  uint64_t g = reg_->generation();
  // Simulate a writer killed after its journal entry and file, before the
  // generation bump.
  ClientRecord c = IpClientRecord("ghost", "10.6.6.6");
  testing::WriteText(root_ + "/clients/" + ClientFileId("ghost"),
                     FormatClient(c));
  testing::WriteText(
      absl::StrCat(root_, "/journal/", std::string(19, '0'), g + 1),
      absl::StrCat("client ", ClientFileId("ghost"), "\n"));
  ASSERT_OK(reg_->RegisterClient(Reg("real", "10.6.6.7", true)));
  EXPECT_NE(reg_->Snapshot()->FindClientByLabel("ghost"), nullptr);
  ASSERT_TRUE((*server)->Refresh().ok());
  EXPECT_NE((*server)->Snapshot()->FindClientByLabel("ghost"), nullptr);
  EXPECT_NE((*server)->Snapshot()->FindClientByLabel("real"), nullptr);
}

// Found by //ntl/registry:record_format_fuzz: a client file whose certificate
// did not end in a newline parsed to one PEM and, formatted and parsed again,
// to another (FormatClient adds the newline), so a load and a rewrite
// disagreed about what was stored.
TEST(RecordFormatTest, ClientWithoutFinalNewlineRoundTrips) {
  ClientRecord c = IpClientRecord("edge", "10.6.6.8");
  std::string text = FormatClient(c);
  ASSERT_EQ(text.back(), '\n');
  text.pop_back();
  auto first = ParseClient(text, "clients/edge");
  ASSERT_TRUE(first.ok()) << first.status();
  auto again = ParseClient(FormatClient(*first), "clients/edge");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->certificate_pem, first->certificate_pem);
  EXPECT_EQ(FormatClient(*again), FormatClient(*first));
}

TEST_F(RegistryTest, FilesArePrivate) {
  ASSERT_OK(reg_->RegisterClient(Reg("p", "10.7.7.7", true)));
  struct stat st;
  ASSERT_EQ(stat(root_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0077, 0u);
  ASSERT_EQ(stat((root_ + "/clients/" + ClientFileId("p")).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(RegistryTest, BatchRegistrationIsAllOrNothing) {
  std::vector<ClientRegistration> batch;
  for (int i = 0; i < 20; ++i) {
    batch.push_back(
        Reg(absl::StrCat("b", i), absl::StrCat("10.8.0.", i), true));
  }
  batch.push_back(batch[3]);  // A duplicate label: the whole batch is refused.
  EXPECT_EQ(ToTlStatus(reg_->RegisterClients(batch)), TL_E_ALREADY_EXISTS);
  EXPECT_EQ(reg_->Snapshot()->client_count(), 0u);
  batch.pop_back();
  ASSERT_TRUE(reg_->RegisterClients(batch).ok());
  auto reopened = Registry::Open(root_, false);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->Snapshot()->client_count(), 20u);
}

TEST_F(RegistryTest, SnapshotsAndChangesFromManyThreads) {
  std::vector<ClientRegistration> regs;
  for (int i = 0; i < 12; ++i)
    regs.push_back(Reg(absl::StrCat("t", i), absl::StrCat("10.9.0.", i), true));
  auto server = Registry::Open(root_, false);
  ASSERT_TRUE(server.ok());
  std::atomic<bool> done{false};
  std::thread reader([&] {
    while (!done.load()) {
      (void)(*server)->Refresh();
      auto snap = (*server)->Snapshot();
      for (const ClientRecord* c : snap->ClientsSortedByLabel()) {
        ASSERT_EQ(snap->FindClientByFingerprint(c->fingerprint), c);
      }
    }
  });
  std::thread writer2([&] {
    for (int i = 6; i < 12; ++i)
      ASSERT_TRUE(reg_->RegisterClient(regs[i]).ok());
  });
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(reg_->RegisterClient(regs[i]).ok());
  writer2.join();
  done = true;
  reader.join();
  ASSERT_TRUE((*server)->Refresh().ok());
  EXPECT_EQ((*server)->Snapshot()->client_count(), 12u);
}

}  // namespace
}  // namespace trustlink::ntl::registry
