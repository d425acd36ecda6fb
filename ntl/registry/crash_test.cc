// Crash safety: a writer process killed with SIGKILL at random points never
// leaves a registry that fails to load or disagrees with itself, and a reader
// that follows the changes incrementally ends up with exactly what a fresh full
// load sees.
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <random>
#include <set>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ntl/registry/registry.h"
#include "ntl/registry/test_util.h"

namespace trustlink::ntl::registry {
namespace {

constexpr int kPool = 24;

std::string IpOf(int i) { return absl::StrCat("10.77.0.", i + 1); }

// Writer loops over random changes until killed.
[[noreturn]] void Writer(const std::string& root,
                         const std::vector<std::string>& certs, unsigned seed) {
  auto reg = Registry::Open(root);
  if (!reg.ok()) _exit(3);
  std::mt19937 rng(seed);
  while (true) {
    int i = static_cast<int>(rng() % kPool);
    std::string label = absl::StrCat("c", i);
    switch (rng() % 7) {
      case 0:
      case 1: {
        ClientRegistration r;
        r.label = label;
        r.name = IpOf(i);
        r.name_is_ip = true;
        r.certificate_pem = certs[i];
        (void)(*reg)->RegisterClient(r);
        break;
      }
      case 2:
        (void)(*reg)->DeleteClient(label);
        break;
      case 3:
        (void)(*reg)->CreatePartition(absl::StrCat("p", rng() % 3), "", "");
        break;
      case 4:
        (void)(*reg)->AssignPartition(label, absl::StrCat("p", rng() % 3));
        break;
      case 5:
        (void)(*reg)->DeletePartition(absl::StrCat("p", rng() % 3),
                                      /*force=*/true);
        break;
      case 6: {
        int idle = 1 + static_cast<int>(rng() % 100);
        (void)(*reg)->UpdateSettings([idle](Settings* s) {
          s->keepalive_idle_seconds = idle;
          return absl::OkStatus();
        });
        break;
      }
    }
  }
}

std::set<std::string> Describe(const RegistrySnapshot& snap) {
  std::set<std::string> out;
  for (const ClientRecord* c : snap.ClientsSortedByLabel()) {
    std::string parts;
    for (const auto& p : c->partitions) absl::StrAppend(&parts, p, ",");
    out.insert(absl::StrCat("client ", c->label, " ", c->name, " ",
                            c->fingerprint, " ", parts));
  }
  for (const auto& [name, p] : snap.partitions())
    out.insert(absl::StrCat("partition ", name));
  out.insert(absl::StrCat("idle ", snap.settings().keepalive_idle_seconds));
  return out;
}

TEST(RegistryCrashTest, KilledWritersNeverLeaveABrokenRegistry) {
  std::string root = testing::FreshRoot("crash");
  std::vector<std::string> certs;
  for (int i = 0; i < kPool; ++i)
    certs.push_back(testing::ClientCertPem(IpOf(i)));
  auto follower = Registry::Open(root);
  ASSERT_TRUE(follower.ok()) << follower.status();
  std::mt19937 rng(12345);
  constexpr int kRounds = 30;
  for (int round = 0; round < kRounds; ++round) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) Writer(root, certs, static_cast<unsigned>(round));
    // A random kill point, not synchronisation: the writer commits a change
    // every few ms.
    timespec ts{0, static_cast<long>(1000000 + rng() % 40000000)};
    nanosleep(&ts, nullptr);
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status))
        << "writer exited early with " << WEXITSTATUS(status);

    auto fresh = Registry::Open(root, false);
    ASSERT_TRUE(fresh.ok()) << "round " << round << ": " << fresh.status();
    auto snap = (*fresh)->Snapshot();
    ASSERT_TRUE(snap->state().CheckReferences().ok());
    for (const ClientRecord* c : snap->ClientsSortedByLabel()) {
      ASSERT_EQ(snap->FindClientByFingerprint(c->fingerprint), c);
      ASSERT_EQ(snap->FindClientByIp(c->name), c);
    }
    absl::Status st = (*follower)->Refresh();
    ASSERT_TRUE(st.ok()) << "round " << round << ": " << st;
    // The incremental view may lag a dead writer's unannounced change by one
    // commit; after one more commit (which announces it) both views agree
    // exactly.
    ASSERT_TRUE((*fresh)
                    ->UpdateSettings([](Settings*) { return absl::OkStatus(); })
                    .ok());
    ASSERT_TRUE((*follower)->Refresh().ok());
    auto again = Registry::Open(root, false);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(Describe(*(*follower)->Snapshot()),
              Describe(*(*again)->Snapshot()))
        << "round " << round;
  }
}

}  // namespace
}  // namespace trustlink::ntl::registry
