#include "ntl/internal/new_counter.h"

#include <pthread.h>
#include <sys/prctl.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>

namespace trustlink::ntl::internal {
namespace {

// 0: off; else 1 + CountNewOn.
std::atomic<int> g_mode{0};
std::atomic<pthread_t> g_thread{};
std::atomic<uint64_t> g_count{0};

bool Counts() {
  const int mode = g_mode.load(std::memory_order_relaxed);
  if (mode == 0) {
    return false;
  }
  if (mode == 1 + static_cast<int>(CountNewOn::kThisThread)) {
    return pthread_equal(pthread_self(), g_thread.load()) != 0;
  }
  char name[16] = "";
  prctl(PR_GET_NAME, name, 0, 0, 0);
  return std::strncmp(name, "ntls-loop-", 10) == 0;
}

}  // namespace

void StartCountingNew(CountNewOn threads) {
  g_thread.store(pthread_self());
  g_count.store(0);
  g_mode.store(1 + static_cast<int>(threads));
}

uint64_t StopCountingNew() {
  g_mode.store(0);
  return g_count.load();
}

}  // namespace trustlink::ntl::internal

void* operator new(size_t n) {
  if (trustlink::ntl::internal::Counts()) {
    trustlink::ntl::internal::g_count.fetch_add(1, std::memory_order_relaxed);
  }
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) {
    throw std::bad_alloc();
  }
  return p;
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
