#ifndef TRUSTLINK_NTL_CLIENT_WORKERS_H_
#define TRUSTLINK_NTL_CLIENT_WORKERS_H_

// Workers: the short-lived threads a Client starts besides its I/O thread (an
// HTL proof request, a lookup through a test's ResolverFn), owned so that none
// outlives the Client: its destructor joins them all. Nothing of the library
// then runs after tl_client_close returns, or after a dlclose that follows it.
// A job that waits on I/O also watches cancel_fd(), which becomes readable
// when the Client closes, so the join takes milliseconds, not the job's own
// timeout (the proof request's); a test's resolver is bounded by the test.

#include <functional>
#include <list>
#include <memory>
#include <thread>

#include "ntl/internal/mutex.h"

namespace trustlink::ntl::client {

// Thread safety: all methods are safe from any thread, but not from a worker
// of this Workers.
class Workers {
 public:
  Workers();
  // The destructor is StopAll().
  ~Workers();
  Workers(const Workers&) = delete;
  Workers& operator=(const Workers&) = delete;

  // Run starts `job` on a new thread with every signal blocked (the host's
  // handlers stay on its own threads), after joining the workers that have
  // finished.
  void Run(std::function<void()> job);
  // cancel_fd is an eventfd that becomes readable, for good, at StopAll: jobs
  // poll it beside their own descriptor (PollUntil's cancel_fd).
  int cancel_fd() const { return cancel_fd_; }
  // StopAll makes cancel_fd() readable and waits for every worker to end.
  void StopAll();
  // running is how many workers have not been joined (for tests).
  size_t running();

 private:
  struct Worker {
    std::thread thread;
    bool finished = false;
  };
  void JoinFinishedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const int cancel_fd_;
  internal::Mutex mu_;
  std::list<std::shared_ptr<Worker>> workers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace trustlink::ntl::client

#endif  // TRUSTLINK_NTL_CLIENT_WORKERS_H_
