#ifndef TRUSTLINK_NTL_INTERNAL_TIMED_WAIT_COUNTER_H_
#define TRUSTLINK_NTL_INTERNAL_TIMED_WAIT_COUNTER_H_

// Wait counters for tests of how a thread waits. Their library interposes
// epoll_wait and ppoll (link it only into tests, with alwayslink) and counts,
// while counting is on and on the threads chosen:
// - TimedWaits: the epoll_waits that pass a timeout; each starts a kernel
//   timer and cancels it when an event comes first ("no kernel timer per
//   wake-up").
// - NonBlockingWaits: the epoll_waits and ppolls with a zero timeout, which
//   only a busy-poll makes on the paths tested (internal/busy_poll.h).
// - SleepingPolls: the ppolls without a timeout (a caller's sleep).

#include "ntl/internal/counted_threads.h"

namespace trustlink::ntl::internal {

// Each is a count: Start(threads), then Stop() returns it.
CountedThreads& TimedWaits();
CountedThreads& NonBlockingWaits();
CountedThreads& SleepingPolls();

}  // namespace trustlink::ntl::internal

#endif  // TRUSTLINK_NTL_INTERNAL_TIMED_WAIT_COUNTER_H_
