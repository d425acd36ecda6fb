#ifndef TRUSTLINK_NTL_INTERNAL_TIMED_WAIT_COUNTER_H_
#define TRUSTLINK_NTL_INTERNAL_TIMED_WAIT_COUNTER_H_

// TimedWaitCounter: for tests that pin "no kernel timer per wake-up" on an
// event loop. Its library interposes epoll_wait (link it only into tests,
// with alwayslink) and counts, while counting is on and on the threads chosen
// (as NewCounter does), the waits that pass a timeout: each starts a kernel
// timer and cancels it when an event comes first.

#include <cstdint>

#include "ntl/internal/counted_threads.h"

namespace trustlink::ntl::internal {

// StartCountingTimedWaits resets the count and starts counting on `threads`.
void StartCountingTimedWaits(CountNewOn threads);
// StopCountingTimedWaits stops counting and returns the count since the start.
uint64_t StopCountingTimedWaits();

}  // namespace trustlink::ntl::internal

#endif  // TRUSTLINK_NTL_INTERNAL_TIMED_WAIT_COUNTER_H_
