#include "ntl/internal/timed_wait_counter.h"

#include <dlfcn.h>
#include <sys/epoll.h>

namespace trustlink::ntl::internal {

CountedThreads& TimedWaits() {
  static CountedThreads count;
  return count;
}

}  // namespace trustlink::ntl::internal

// Exported (the build hides symbols by default): the code under test must
// find this one first.
extern "C" __attribute__((visibility("default"))) int epoll_wait(
    int epfd, struct epoll_event* events, int max_events, int timeout_ms) {
  using Fn = int (*)(int, struct epoll_event*, int, int);
  static const Fn real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "epoll_wait"));
  if (timeout_ms > 0) {
    trustlink::ntl::internal::TimedWaits().Hit();
  }
  return real(epfd, events, max_events, timeout_ms);
}
