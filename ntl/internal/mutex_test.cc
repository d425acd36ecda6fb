#include "ntl/internal/mutex.h"

#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace trustlink::ntl::internal {
namespace {

// Run under --config=tsan this is the check that our lock is visible to TSan
// (absl::Mutex from Debian is not).
TEST(MutexTest, CountsEveryIncrementFromManyThreads) {
  struct {
    Mutex mu;
    int counter ABSL_GUARDED_BY(mu) = 0;
  } shared;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        MutexLock lock(&shared.mu);
        ++shared.counter;
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  MutexLock lock(&shared.mu);
  EXPECT_EQ(shared.counter, 40000);
}

TEST(CondVarTest, WaitUntilSeesTheConditionSetByAnotherThread) {
  struct {
    Mutex mu;
    CondVar cv;
    bool ready ABSL_GUARDED_BY(mu) = false;
  } shared;
  std::thread setter([&] {
    MutexLock lock(&shared.mu);
    shared.ready = true;
    shared.cv.SignalAll();
  });
  {
    MutexLock lock(&shared.mu);
    EXPECT_TRUE(
        shared.cv.WaitUntil(&shared.mu, absl::Now() + absl::Seconds(10), [&] {
          shared.mu.AssertHeld();
          return shared.ready;
        }));
  }
  setter.join();
}

// An infinite deadline (TL_CLIENT_NO_TIMEOUT) waits for the signal. It used to
// overflow std::condition_variable::wait_for into a deadline in the past, so
// every wait returned at once: the waiter spun holding the mutex and starved
// the thread that would have set the condition.
TEST(CondVarTest, AnInfiniteDeadlineWaitsForTheSignal) {
  struct {
    Mutex mu;
    CondVar cv;
    bool ready ABSL_GUARDED_BY(mu) = false;
  } shared;
  MutexLock lock(&shared.mu);
  // Started with the mutex held, so the signal comes while the test waits.
  std::thread setter([&] {
    MutexLock l(&shared.mu);
    shared.ready = true;
    shared.cv.SignalAll();
  });
  bool timed_out = false;
  while (!shared.ready && !timed_out) {
    timed_out = shared.cv.WaitWithDeadline(&shared.mu, absl::InfiniteFuture());
  }
  shared.mu.Unlock();
  setter.join();
  shared.mu.Lock();
  EXPECT_FALSE(timed_out) << "an infinite deadline passed";
}

TEST(CondVarTest, WaitUntilGivesUpAtTheDeadline) {
  Mutex mu;
  CondVar cv;
  MutexLock lock(&mu);
  EXPECT_FALSE(cv.WaitUntil(&mu, absl::Now() + absl::Milliseconds(20),
                            [] { return false; }));
}

}  // namespace
}  // namespace trustlink::ntl::internal
