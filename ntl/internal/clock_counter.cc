#include "ntl/internal/clock_counter.h"

#include <dlfcn.h>
#include <time.h>

namespace trustlink::ntl::internal {

CountedThreads g_clock_reads;

void StartCountingClockReads(CountNewOn threads) {
  g_clock_reads.Start(threads);
}

uint64_t StopCountingClockReads() { return g_clock_reads.Stop(); }

}  // namespace trustlink::ntl::internal

// Exported (the build hides symbols by default): the C library's callers,
// libstdc++ among them, must find this one first.
extern "C" __attribute__((visibility("default"))) int clock_gettime(
    clockid_t clock, struct timespec* out) {
  using Fn = int (*)(clockid_t, struct timespec*);
  // The C library's, found once.
  static const Fn real =
      reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "clock_gettime"));
  trustlink::ntl::internal::g_clock_reads.Hit();
  return real(clock, out);
}
