#include "ntl/internal/new_counter.h"

#include <cstdlib>
#include <new>

namespace trustlink::ntl::internal {

CountedThreads g_new_calls;

void StartCountingNew(CountNewOn threads) { g_new_calls.Start(threads); }

uint64_t StopCountingNew() { return g_new_calls.Stop(); }

}  // namespace trustlink::ntl::internal

void* operator new(size_t n) {
  trustlink::ntl::internal::g_new_calls.Hit();
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) {
    throw std::bad_alloc();
  }
  return p;
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
