#include "ntl/trust_store.h"

// What the store's lock and its one-swap commits guarantee across processes:
// concurrent updates lose nothing, and a kill at any point leaves a consistent
// store.

#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ntl/trust_store_testing.h"

namespace trustlink::ntl {
namespace {

using internal::SafeDir;

// Eight processes add different servers at once; every one of them must be
// there after.
TEST_F(TrustStoreTest, ConcurrentProcessesLoseNothing) {
  constexpr int kProcs = 8;
  constexpr int kPerProc = 5;
  std::vector<std::vector<std::string>> pems(kProcs);
  for (int p = 0; p < kProcs; ++p) {
    for (int i = 0; i < kPerProc; ++i)
      pems[p].push_back(ServerPem(absl::StrCat("h", p, "-", i)));
  }
  std::vector<pid_t> pids;
  for (int p = 0; p < kProcs; ++p) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      absl::StatusOr<SafeDir> root = SafeDir::Open(root_path_, false);
      absl::StatusOr<TrustStore> store = TrustStore::Open(*root, true);
      int failures = store.ok() ? 0 : 1;
      for (int i = 0; i < kPerProc && store.ok(); ++i) {
        failures +=
            !store->Add(absl::StrCat("h", p, "-", i), pems[p][i], false).ok();
      }
      _exit(failures);
    }
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int wstatus = 0;
    ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
    EXPECT_TRUE(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);
  }
  EXPECT_EQ(store_->List()->size(), static_cast<size_t>(kProcs * kPerProc));
  EXPECT_TRUE(store_->Verify()->Consistent());
  EXPECT_TRUE(RawConsistent(root_path_));
}

// A process killed at a random point during updates never leaves CAFile.pem and
// the named files disagreeing. The child arms a one-shot timer whose default
// action kills it, so the kill point is random without the parent sleeping.
TEST_F(TrustStoreTest, CrashAtRandomPointsLeavesStoreConsistent) {
  constexpr int kKills = 200;
  std::vector<std::string> names = {"a1", "b2", "c3", "d4", "e5"};
  std::vector<std::string> pems;
  for (int i = 0; i < 10; ++i)
    pems.push_back(ServerPem(names[i % names.size()]));
  std::mt19937 rng(12345);
  int updates_before_kill = 0;
  for (int k = 0; k < kKills; ++k) {
    unsigned seed = rng();
    int delay_us = 200 + static_cast<int>(rng() % 8000);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      std::mt19937 child_rng(seed);
      absl::StatusOr<SafeDir> root = SafeDir::Open(root_path_, false);
      absl::StatusOr<TrustStore> store = TrustStore::Open(*root, true);
      if (!store.ok()) _exit(2);
      struct itimerval timer = {};
      timer.it_value.tv_usec = delay_us;
      signal(SIGALRM, SIG_DFL);
      setitimer(ITIMER_REAL, &timer, nullptr);
      for (int op = 0; op < 1000; ++op) {
        const std::string& name = names[child_rng() % names.size()];
        const std::string& pem = pems[child_rng() % pems.size()];
        switch (child_rng() % 3) {
          case 0:
            (void)store->Add(name, pem, false);
            break;
          case 1:
            (void)store->Add(name, pem, true);
            break;
          default:
            (void)store->Remove(name);
        }
      }
      _exit(0);
    }
    int wstatus = 0;
    ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
    if (WIFSIGNALED(wstatus)) ++updates_before_kill;
    ASSERT_TRUE(RawConsistent(root_path_)) << "after kill " << k;
    ASSERT_TRUE(store_->Verify()->Consistent()) << "after kill " << k;
  }
  // Most children must actually have been killed mid-run for the test to mean
  // anything.
  EXPECT_GT(updates_before_kill, kKills / 2);
  // The next writer clears whatever a killed update left beside the store.
  ASSERT_TRUE(store_->Add("zz", ServerPem("zz"), false).ok());
  SafeDir cert = *SafeDir::Open(root_path_ + "/cert", false);
  EXPECT_FALSE(*cert.Exists(".server.next"));
}

}  // namespace
}  // namespace trustlink::ntl
