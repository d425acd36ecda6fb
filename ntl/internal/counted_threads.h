#ifndef TRUSTLINK_NTL_INTERNAL_COUNTED_THREADS_H_
#define TRUSTLINK_NTL_INTERNAL_COUNTED_THREADS_H_

// CountedThreads: which threads a hot-path counter for tests (new_counter.h,
// clock_counter.h) counts on, and whether it counts now.

#include <pthread.h>

#include <atomic>

namespace trustlink::ntl::internal {

// CountNewOn chooses the threads: the one that started counting (a client
// driven without an I/O thread runs entirely on it), or the NTLS loop threads
// (named ntls-loop-*).
enum class CountNewOn { kThisThread, kLoopThreads };

// Thread safety: Start and Stop on one thread; Counts from any thread.
class CountedThreads {
 public:
  void Start(CountNewOn threads);
  void Stop();
  // Counts says whether the calling thread is counted now.
  bool Counts() const;

 private:
  std::atomic<int> mode_{0};  // 0: off; else 1 + CountNewOn
  std::atomic<pthread_t> thread_{};
};

}  // namespace trustlink::ntl::internal

#endif  // TRUSTLINK_NTL_INTERNAL_COUNTED_THREADS_H_
