#ifndef TRUSTLINK_NTL_INTERNAL_NEW_COUNTER_H_
#define TRUSTLINK_NTL_INTERNAL_NEW_COUNTER_H_

// NewCounter: for tests that pin "no allocation per call" on a hot path. Its
// library replaces the global operator new (link it only into tests, with
// alwayslink) and counts the calls made, while counting is on, by the threads
// chosen: the one that started counting (a client driven without an I/O
// thread runs entirely on it), or the NTLS loop threads (named ntls-loop-*).

#include <cstdint>

#include "ntl/internal/counted_threads.h"

namespace trustlink::ntl::internal {

// StartCountingNew resets the count and starts counting on `threads`.
void StartCountingNew(CountNewOn threads);
// StopCountingNew stops counting and returns the count since the start.
uint64_t StopCountingNew();

}  // namespace trustlink::ntl::internal

#endif  // TRUSTLINK_NTL_INTERNAL_NEW_COUNTER_H_
