#ifndef TRUSTLINK_NTL_INTERNAL_CLOCK_COUNTER_H_
#define TRUSTLINK_NTL_INTERNAL_CLOCK_COUNTER_H_

// ClockCounter: for tests that pin "no clock read per call" on a hot path. Its
// library interposes clock_gettime (link it only into tests, with
// alwayslink) and counts the calls made, while counting is on, by the threads
// chosen (as NewCounter does). std::chrono's clocks read through it.

#include <cstdint>

#include "ntl/internal/counted_threads.h"

namespace trustlink::ntl::internal {

// StartCountingClockReads resets the count and starts counting on `threads`.
void StartCountingClockReads(CountNewOn threads);
// StopCountingClockReads stops counting and returns the count since the start.
uint64_t StopCountingClockReads();

}  // namespace trustlink::ntl::internal

#endif  // TRUSTLINK_NTL_INTERNAL_CLOCK_COUNTER_H_
