#ifndef TRUSTLINK_NTL_INTERNAL_MUTEX_H_
#define TRUSTLINK_NTL_INTERNAL_MUTEX_H_

// Mutex, MutexLock and CondVar: std::mutex and std::condition_variable with
// clang's thread-safety annotations.
//
// Why not absl::Mutex: Debian's Abseil is prebuilt without TSan
// instrumentation, so TSan reports correct absl::Mutex use as a data race
// (BUILD-NOTES.md). std::mutex is intercepted by TSan, so races in our own
// locking stay visible. Use these for all shared state.

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "absl/base/thread_annotations.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace trustlink::ntl::internal {

// Thread safety: a Mutex is itself safe to use from any thread.
class ABSL_LOCKABLE Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }
  bool TryLock() ABSL_EXCLUSIVE_TRYLOCK_FUNCTION(true) {
    return mu_.try_lock();
  }
  // AssertHeld tells the analysis a lock is held where it cannot see it (a
  // callback from a function that documents it is called under the lock). It
  // checks nothing at run time.
  void AssertHeld() const ABSL_ASSERT_EXCLUSIVE_LOCK() {}

 private:
  friend class CondVar;
  std::mutex mu_;
};

// MutexLock holds a Mutex for its scope.
class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) {
    mu_->Lock();
  }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

// CondVar waits on a Mutex the caller holds. Waits may wake spuriously: loop on
// the condition, or use WaitUntil with a predicate.
class CondVar {
 public:
  void Signal() { cv_.notify_one(); }
  void SignalAll() { cv_.notify_all(); }

  void Wait(Mutex* mu) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    std::unique_lock<std::mutex> lock(mu->mu_, std::adopt_lock);
    cv_.wait(lock);
    lock.release();
  }

  // WaitWithDeadline returns true if the deadline passed, false if woken before
  // it.
  bool WaitWithDeadline(Mutex* mu, absl::Time deadline)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    std::unique_lock<std::mutex> lock(mu->mu_, std::adopt_lock);
    if (deadline == absl::InfiniteFuture()) {
      // wait_for(nanoseconds::max()) would overflow the clock into the past
      // and return at once, turning every wait into a spin on the mutex.
      cv_.wait(lock);
      lock.release();
      return false;
    }
    const absl::Duration left = deadline - absl::Now();
    bool timed_out = true;
    if (left > absl::ZeroDuration()) {
      timed_out = cv_.wait_for(lock, absl::ToChronoNanoseconds(left)) ==
                  std::cv_status::timeout;
    }
    lock.release();
    return timed_out;
  }

  // WaitUntil waits until `done()` holds or `deadline` passes; it returns
  // done()'s last value. `done` runs with `mu` held; it may call
  // mu->AssertHeld() to tell the analysis so.
  template <typename Predicate>
  bool WaitUntil(Mutex* mu, absl::Time deadline, Predicate done)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    while (!done()) {
      if (WaitWithDeadline(mu, deadline) && !done()) {
        return false;
      }
    }
    return true;
  }

 private:
  std::condition_variable cv_;
};

}  // namespace trustlink::ntl::internal

#endif  // TRUSTLINK_NTL_INTERNAL_MUTEX_H_
