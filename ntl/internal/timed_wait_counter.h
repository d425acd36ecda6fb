#ifndef TRUSTLINK_NTL_INTERNAL_TIMED_WAIT_COUNTER_H_
#define TRUSTLINK_NTL_INTERNAL_TIMED_WAIT_COUNTER_H_

// TimedWaits: for tests that pin "no kernel timer per wake-up" on an event
// loop. Its library interposes epoll_wait (link it only into tests, with
// alwayslink) and counts, while counting is on and on the threads chosen, the
// waits that pass a timeout: each starts a kernel timer and cancels it when an
// event comes first.

#include "ntl/internal/counted_threads.h"

namespace trustlink::ntl::internal {

// TimedWaits is the count: Start(threads), then Stop() returns it.
CountedThreads& TimedWaits();

}  // namespace trustlink::ntl::internal

#endif  // TRUSTLINK_NTL_INTERNAL_TIMED_WAIT_COUNTER_H_
