#ifndef TRUSTLINK_NTL_INTERNAL_COUNTED_THREADS_H_
#define TRUSTLINK_NTL_INTERNAL_COUNTED_THREADS_H_

// CountedThreads: the counter behind the hot-path counters for tests
// (new_counter.h, clock_counter.h): which threads count, whether counting is
// on, and the count.

#include <pthread.h>

#include <atomic>
#include <cstdint>

namespace trustlink::ntl::internal {

// CountNewOn chooses the threads: the one that started counting (a client
// driven without an I/O thread runs entirely on it), or the NTLS loop threads
// (named ntls-loop-*).
enum class CountNewOn { kThisThread, kLoopThreads };

// Thread safety: Start and Stop on one thread; Hit from any thread.
class CountedThreads {
 public:
  // Start resets the count and starts counting on `threads`.
  void Start(CountNewOn threads);
  // Stop stops counting and returns the count since the start.
  uint64_t Stop();
  // Hit counts one event if the calling thread is counted now.
  void Hit();

 private:
  std::atomic<int> mode_{0};  // 0: off; else 1 + CountNewOn
  std::atomic<pthread_t> thread_{};
  std::atomic<uint64_t> count_{0};
};

}  // namespace trustlink::ntl::internal

#endif  // TRUSTLINK_NTL_INTERNAL_COUNTED_THREADS_H_
