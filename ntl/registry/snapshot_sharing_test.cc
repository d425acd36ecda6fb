// Snapshots share structure with the live state (cow_map.h): these tests show
// that sharing never lets a change leak into a snapshot taken before it, in
// one thread and with many readers on other threads (run under --config=tsan).
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "ntl/registry/registry.h"
#include "ntl/registry/snapshot.h"
#include "ntl/registry/state.h"
#include "ntl/registry/test_util.h"

namespace trustlink::ntl::registry {
namespace {

// Describe lists every client with the fields a change may touch, after
// checking the three indexes agree with the records.
std::string Describe(const RegistrySnapshot& snap) {
  std::vector<std::string> lines;
  for (const ClientRecord* c : snap.ClientsSortedByLabel()) {
    bool indexed = snap.FindClientByLabel(c->label) == c &&
                   snap.FindClientByFingerprint(c->fingerprint) == c;
    for (const std::string& ip : c->host_ips) {
      indexed = indexed && snap.FindClientByIp(ip) == c;
    }
    if (c->name_kind != NameKind::kHostname) {
      indexed = indexed && snap.FindClientByIp(c->name) == c;
    }
    lines.push_back(absl::StrCat(
        c->label, " ", c->fingerprint, " ", c->require_htl, " ",
        absl::StrJoin(c->host_ips, ","), indexed ? "" : " NOT-INDEXED"));
  }
  return absl::StrCat(snap.client_count(), "\n", absl::StrJoin(lines, "\n"));
}

std::shared_ptr<const ClientRecord> Record(int i) {
  auto c = std::make_shared<ClientRecord>();
  c->label = absl::StrCat("client-", i);
  c->name_kind = NameKind::kIPv4;
  c->name = absl::StrCat("10.0.", i / 256, ".", i % 256);
  c->fingerprint = absl::StrCat("FP-", i);
  return c;
}

TEST(SnapshotSharingTest, StateCopiesAreIndependentBothWays) {
  RegistryState live;
  for (int i = 0; i < 3000; ++i) {
    ASSERT_TRUE(live.PutClient(Record(i)).ok());
  }
  const RegistrySnapshot before(live, 1);
  const std::string before_text = Describe(before);

  auto changed = std::make_shared<ClientRecord>(*Record(5));
  changed->fingerprint = "FP-new";
  changed->host_ips = {"192.168.0.5"};
  ASSERT_TRUE(live.PutClient(changed).ok());
  live.RemoveClientById(ClientFileId("client-6"));
  ASSERT_TRUE(live.PutClient(Record(9000)).ok());
  const RegistrySnapshot after(live, 2);

  EXPECT_EQ(Describe(before), before_text);
  EXPECT_EQ(before.FindClientByFingerprint("FP-new"), nullptr);
  EXPECT_NE(before.FindClientByFingerprint("FP-5"), nullptr);
  EXPECT_NE(before.FindClientByLabel("client-6"), nullptr);
  EXPECT_EQ(before.FindClientByLabel("client-9000"), nullptr);
  EXPECT_EQ(before.client_count(), 3000u);

  EXPECT_EQ(after.FindClientByFingerprint("FP-5"), nullptr);
  ASSERT_NE(after.FindClientByFingerprint("FP-new"), nullptr);
  EXPECT_EQ(after.FindClientByIp("192.168.0.5"),
            after.FindClientByLabel("client-5"));
  EXPECT_EQ(after.FindClientByLabel("client-6"), nullptr);
  EXPECT_EQ(after.FindClientByIp("10.0.0.6"), nullptr);
  EXPECT_NE(after.FindClientByLabel("client-9000"), nullptr);
  EXPECT_EQ(after.client_count(), 3000u);
  EXPECT_EQ(Describe(after).find("NOT-INDEXED"), std::string::npos);

  // A state rebuilt from a snapshot (what a failed commit falls back to) can
  // change without touching that snapshot.
  RegistryState restored = after.state();
  restored.RemoveClientById(ClientFileId("client-7"));
  EXPECT_NE(after.FindClientByLabel("client-7"), nullptr);
  EXPECT_EQ(restored.FindByLabel("client-7"), nullptr);
}

ClientRegistration Registration(int i) {
  ClientRegistration r;
  r.label = absl::StrCat("client-", i);
  r.name = absl::StrCat("client-", i, ".example");
  r.name_is_ip = false;
  r.certificate_pem = testing::ClientCertPem(r.name);
  return r;
}

TEST(SnapshotSharingTest, ReadersOnThreadsKeepTheirViewWhileChangesPublish) {
  auto reg = Registry::Open(testing::FreshRoot("sharing"));
  ASSERT_TRUE(reg.ok()) << reg.status();
  constexpr int kClients = 24;
  std::vector<ClientRegistration> batch;
  for (int i = 0; i < kClients; ++i) {
    batch.push_back(Registration(i));
  }
  ASSERT_TRUE((*reg)->RegisterClients(batch).ok());

  constexpr int kReaders = 4;
  std::atomic<bool> stop{false};
  std::atomic<int> problems{0};
  std::atomic<int> views_checked{0};
  std::vector<std::thread> readers;
  // Stops and joins the readers however the test ends (a failed ASSERT
  // returns early).
  struct JoinReaders {
    std::atomic<bool>* stop;
    std::vector<std::thread>* readers;
    ~JoinReaders() {
      stop->store(true);
      for (std::thread& t : *readers) {
        t.join();
      }
    }
  } join_readers{&stop, &readers};
  for (int r = 0; r < kReaders; ++r) {
    readers.emplace_back([&] {
      // Each reader keeps its first view and checks it never moves, while it
      // also reads every new view the writer publishes.
      auto first = (*reg)->Snapshot();
      const std::string first_text = Describe(*first);
      while (!stop.load()) {
        auto now = (*reg)->Snapshot();
        if (Describe(*now).find("NOT-INDEXED") != std::string::npos) {
          problems.fetch_add(1);
        }
        if (Describe(*first) != first_text) {
          problems.fetch_add(1);
        }
        views_checked.fetch_add(1);
      }
    });
  }

  std::string new_pem = testing::ClientCertPem("client-3.example");
  for (int round = 0; round < 12; ++round) {
    auto before = (*reg)->Snapshot();
    const std::string before_text = Describe(*before);
    const std::string label = absl::StrCat("client-", round % kClients);
    const bool htl = round % 2 == 0;
    ASSERT_TRUE((*reg)->SetRequireHtl(label, htl, 0).ok());
    ASSERT_TRUE(
        (*reg)->MapHostIp(label, absl::StrCat("172.16.0.", round)).ok());
    auto after = (*reg)->Snapshot();

    EXPECT_EQ(Describe(*before), before_text) << round;
    EXPECT_EQ(before->FindClientByIp(absl::StrCat("172.16.0.", round)),
              nullptr);
    ASSERT_NE(after->FindClientByLabel(label), nullptr);
    EXPECT_EQ(after->FindClientByLabel(label)->require_htl, htl);
    EXPECT_EQ(after->FindClientByIp(absl::StrCat("172.16.0.", round)),
              after->FindClientByLabel(label));
    EXPECT_GT(after->generation(), before->generation());
  }
  // A changed certificate and a deleted client, seen the same way.
  auto before = (*reg)->Snapshot();
  const ClientRecord* old3 = before->FindClientByLabel("client-3");
  ASSERT_NE(old3, nullptr);
  const std::string old_fp = old3->fingerprint;
  ASSERT_TRUE((*reg)->ReplaceCertificate("client-3", new_pem, false).ok());
  ASSERT_TRUE((*reg)->DeleteClient("client-4").ok());
  auto after = (*reg)->Snapshot();
  EXPECT_EQ(before->FindClientByFingerprint(old_fp), old3);
  EXPECT_EQ(after->FindClientByFingerprint(old_fp), nullptr);
  EXPECT_NE(before->FindClientByLabel("client-4"), nullptr);
  EXPECT_EQ(after->FindClientByLabel("client-4"), nullptr);
  EXPECT_EQ(after->client_count(), static_cast<size_t>(kClients - 1));

  // Let every reader check at least one view after the last change.
  const int seen = views_checked.load();
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (views_checked.load() < seen + kReaders && absl::Now() < deadline) {
    std::this_thread::yield();
  }
  EXPECT_GE(views_checked.load(), seen + kReaders) << "readers stalled";
  stop.store(true);
  for (std::thread& t : readers) {
    t.join();
  }
  readers.clear();
  EXPECT_EQ(problems.load(), 0);
}

}  // namespace
}  // namespace trustlink::ntl::registry
