#include "ntl/internal/counted_threads.h"

#include <sys/prctl.h>

#include <cstring>

namespace trustlink::ntl::internal {

void CountedThreads::Start(CountNewOn threads) {
  thread_.store(pthread_self());
  mode_.store(1 + static_cast<int>(threads));
}

void CountedThreads::Stop() { mode_.store(0); }

bool CountedThreads::Counts() const {
  const int mode = mode_.load(std::memory_order_relaxed);
  if (mode == 0) {
    return false;
  }
  if (mode == 1 + static_cast<int>(CountNewOn::kThisThread)) {
    return pthread_equal(pthread_self(), thread_.load()) != 0;
  }
  char name[16] = "";
  prctl(PR_GET_NAME, name, 0, 0, 0);
  return std::strncmp(name, "ntls-loop-", 10) == 0;
}

}  // namespace trustlink::ntl::internal
