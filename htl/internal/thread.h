#ifndef TRUSTLINK_HTL_INTERNAL_THREAD_H_
#define TRUSTLINK_HTL_INTERNAL_THREAD_H_

// StartThread starts a library thread with every signal blocked, so the
// embedding program's signal handlers keep running on its own threads (a
// library thread that took a SIGTERM would run the program's handler
// concurrently with the program).

#include <pthread.h>
#include <signal.h>

#include <thread>
#include <utility>

namespace trustlink::htl::internal {

template <typename F>
std::thread StartThread(F&& f) {
  sigset_t all;
  sigset_t old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  std::thread t(std::forward<F>(f));  // inherits the blocked mask
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return t;
}

}  // namespace trustlink::htl::internal

#endif  // TRUSTLINK_HTL_INTERNAL_THREAD_H_
