#include "ntl/internal/counted_threads.h"

#include <sys/prctl.h>

#include <cstring>

namespace trustlink::ntl::internal {

void CountedThreads::Start(CountNewOn threads) {
  thread_.store(pthread_self());
  count_.store(0);
  mode_.store(1 + static_cast<int>(threads));
}

uint64_t CountedThreads::Stop() {
  mode_.store(0);
  return count_.load();
}

void CountedThreads::Hit() {
  const int mode = mode_.load(std::memory_order_relaxed);
  if (mode == 0) {
    return;
  }
  if (mode == 1 + static_cast<int>(CountNewOn::kThisThread)) {
    if (pthread_equal(pthread_self(), thread_.load()) == 0) {
      return;
    }
  } else {
    char name[16] = "";
    prctl(PR_GET_NAME, name, 0, 0, 0);
    if (std::strncmp(name, "ntls-loop-", 10) != 0) {
      return;
    }
  }
  count_.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace trustlink::ntl::internal
