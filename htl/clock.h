#ifndef TRUSTLINK_HTL_CLOCK_H_
#define TRUSTLINK_HTL_CLOCK_H_

// Clock: the HTL's only source of time, so tests drive grace periods and token
// expiry without sleeping.

#include "absl/base/thread_annotations.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "ntl/internal/mutex.h"

namespace trustlink::htl {

// Thread safety: implementations are safe to call from any thread.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
  // Real returns the wall clock (a process-wide singleton, never freed).
  static Clock* Real();
};

// FakeClock is a Clock that moves only when told to.
// Thread safety: safe to use from any thread.
class FakeClock : public Clock {
 public:
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1800000000))
      : now_(start) {}
  absl::Time Now() const override {
    ntl::internal::MutexLock lock(&mu_);
    return now_;
  }
  void Advance(absl::Duration d) {
    ntl::internal::MutexLock lock(&mu_);
    now_ += d;
  }

 private:
  mutable ntl::internal::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace trustlink::htl

#endif  // TRUSTLINK_HTL_CLOCK_H_
