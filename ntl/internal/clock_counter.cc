#include "ntl/internal/clock_counter.h"

#include <dlfcn.h>
#include <time.h>

#include <atomic>

#include "ntl/internal/counted_threads.h"

namespace trustlink::ntl::internal {
namespace {

CountedThreads g_threads;
std::atomic<uint64_t> g_count{0};

}  // namespace

void StartCountingClockReads(CountNewOn threads) {
  g_count.store(0);
  g_threads.Start(threads);
}

uint64_t StopCountingClockReads() {
  g_threads.Stop();
  return g_count.load();
}

}  // namespace trustlink::ntl::internal

// Exported (the build hides symbols by default): the C library's callers,
// libstdc++ among them, must find this one first.
extern "C" __attribute__((visibility("default"))) int clock_gettime(
    clockid_t clock, struct timespec* out) {
  using Fn = int (*)(clockid_t, struct timespec*);
  // The C library's, found once; a test binary interposes nothing else here.
  static const Fn real =
      reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "clock_gettime"));
  if (trustlink::ntl::internal::g_threads.Counts()) {
    trustlink::ntl::internal::g_count.fetch_add(1, std::memory_order_relaxed);
  }
  return real(clock, out);
}
