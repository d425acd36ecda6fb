#ifndef TRUSTLINK_NTL_SERVER_HTL_WORKER_H_
#define TRUSTLINK_NTL_SERVER_HTL_WORKER_H_

// HtlWorker runs the HtlGate's blocking calls (file I/O with fsync) off the
// event loops, one at a time and in the order they were posted, and ticks the
// gate about once a second. One thread is enough: the HTL state serialises
// its changes behind one lock anyway, and the order matters (a link's
// requests, then its close). Private to ntl/server.

#include <deque>
#include <functional>
#include <memory>
#include <thread>

#include "absl/time/time.h"
#include "ntl/internal/mutex.h"
#include "ntl/server/htl_gate.h"

namespace trustlink::ntl::server::internal_engine {

// Thread safety: Post and Stop are safe to call from any thread; Start once.
class HtlWorker {
 public:
  HtlWorker(std::shared_ptr<HtlGate> gate, absl::Duration tick);
  ~HtlWorker();

  void Start();
  // Post queues `task`; false when the worker has stopped (the task is
  // dropped, so whatever it owns is destroyed on the caller's thread).
  bool Post(std::function<void()> task);
  // Stop runs what is queued, then ends the thread. Idempotent.
  void Stop();

 private:
  void Run();

  const std::shared_ptr<HtlGate> gate_;
  const absl::Duration tick_;
  internal::Mutex mu_;
  internal::CondVar cv_;
  std::deque<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool accepting_ ABSL_GUARDED_BY(mu_) = true;
  std::thread thread_;
};

}  // namespace trustlink::ntl::server::internal_engine

#endif  // TRUSTLINK_NTL_SERVER_HTL_WORKER_H_
