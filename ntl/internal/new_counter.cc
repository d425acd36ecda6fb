#include "ntl/internal/new_counter.h"

#include <atomic>
#include <cstdlib>
#include <new>

#include "ntl/internal/counted_threads.h"

namespace trustlink::ntl::internal {
namespace {

CountedThreads g_threads;
std::atomic<uint64_t> g_count{0};

}  // namespace

void StartCountingNew(CountNewOn threads) {
  g_count.store(0);
  g_threads.Start(threads);
}

uint64_t StopCountingNew() {
  g_threads.Stop();
  return g_count.load();
}

}  // namespace trustlink::ntl::internal

void* operator new(size_t n) {
  if (trustlink::ntl::internal::g_threads.Counts()) {
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
