#include "ntl/internal/timed_wait_counter.h"

#include <dlfcn.h>
#include <sys/epoll.h>

namespace trustlink::ntl::internal {

CountedThreads g_timed_waits;

void StartCountingTimedWaits(CountNewOn threads) {
  g_timed_waits.Start(threads);
}

uint64_t StopCountingTimedWaits() { return g_timed_waits.Stop(); }

}  // namespace trustlink::ntl::internal

// Exported (the build hides symbols by default): the code under test must
// find this one first.
extern "C" __attribute__((visibility("default"))) int epoll_wait(
    int epfd, struct epoll_event* events, int max_events, int timeout_ms) {
  using Fn = int (*)(int, struct epoll_event*, int, int);
  // The C library's, found once.
  static const Fn real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "epoll_wait"));
  if (timeout_ms > 0) {
    trustlink::ntl::internal::g_timed_waits.Hit();
  }
  return real(epfd, events, max_events, timeout_ms);
}
