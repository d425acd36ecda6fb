#include "ntl/internal/timed_wait_counter.h"

#include <dlfcn.h>
#include <poll.h>
#include <sys/epoll.h>
#include <time.h>

namespace trustlink::ntl::internal {

CountedThreads& TimedWaits() {
  static CountedThreads count;
  return count;
}

CountedThreads& NonBlockingWaits() {
  static CountedThreads count;
  return count;
}

CountedThreads& SleepingPolls() {
  static CountedThreads count;
  return count;
}

}  // namespace trustlink::ntl::internal

// Exported (the build hides symbols by default): the code under test must
// find these first.
extern "C" __attribute__((visibility("default"))) int epoll_wait(
    int epfd, struct epoll_event* events, int max_events, int timeout_ms) {
  using Fn = int (*)(int, struct epoll_event*, int, int);
  static const Fn real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "epoll_wait"));
  if (timeout_ms > 0) {
    trustlink::ntl::internal::TimedWaits().Hit();
  } else if (timeout_ms == 0) {
    trustlink::ntl::internal::NonBlockingWaits().Hit();
  }
  return real(epfd, events, max_events, timeout_ms);
}

extern "C" __attribute__((visibility("default"))) int ppoll(
    struct pollfd* fds, nfds_t nfds, const struct timespec* timeout,
    const sigset_t* sigmask) {
  using Fn =
      int (*)(struct pollfd*, nfds_t, const struct timespec*, const sigset_t*);
  static const Fn real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "ppoll"));
  if (timeout == nullptr) {
    trustlink::ntl::internal::SleepingPolls().Hit();
  } else if (timeout->tv_sec == 0 && timeout->tv_nsec == 0) {
    trustlink::ntl::internal::NonBlockingWaits().Hit();
  }
  return real(fds, nfds, timeout, sigmask);
}
