#include "capi/internal/fork_owner.h"

#include <atomic>
#include <new>
#include <string>

#include "absl/strings/str_cat.h"
#include "capi/internal/last_error.h"

namespace trustlink::capi::internal {
namespace {

// A lock-free list: a lock here could itself have been held at fork time by a
// thread the child does not have (a grandchild forked mid-close).
struct Kept {
  const void* object;
  Kept* next;
};
std::atomic<Kept*> g_kept{nullptr};

}  // namespace

tl_status ForkedError(const char* function, const char* handle_type,
                      const char* open_function, pid_t owner) noexcept {
  try {
    return SetThreadError(
        TL_E_FORKED,
        absl::StrCat(function, ": this ", handle_type, " belongs to process ",
                     owner, ", and this process (", getpid(),
                     ") is a fork() child of it, which has none of its "
                     "threads; its links stay the parent's. Make the "
                     "child's own with ",
                     open_function, " (closing the inherited ", handle_type,
                     " in the child is safe and leaves the parent's links "
                     "alone)"));
  } catch (...) {
    return SetThreadError(TL_E_FORKED,
                          "this handle belongs to the parent of "
                          "this fork() child; open a new one");
  }
}

void KeepForever(const void* object) noexcept {
  Kept* node = new (std::nothrow) Kept{object, nullptr};
  if (node == nullptr) {
    return;  // still allocated, only no longer listed
  }
  node->next = g_kept.load(std::memory_order_relaxed);
  while (!g_kept.compare_exchange_weak(
      node->next, node, std::memory_order_release, std::memory_order_relaxed)) {
  }
}

}  // namespace trustlink::capi::internal
