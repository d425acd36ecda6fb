#include "capi/internal/fork_owner.h"

#include <sys/mman.h>

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

// MakePidPage maps one page that the kernel gives every child process zeroed
// (MADV_WIPEONFORK acts where the kernel copies an address space, so fork(), a
// raw clone() and syscall(SYS_fork) alike). It holds this process's id once
// read; 0 means "not read in this process yet". Null when the kernel refuses
// the advice: then every check calls getpid(). The page is never unmapped, as
// BoringSSL's own fork-detection page is not: a thread still checking during
// exit or dlclose must never touch an unmapped page, and one page per load of
// the library is the price.
std::atomic<pid_t>* MakePidPage() noexcept {
  const long page = sysconf(_SC_PAGESIZE);
  void* p = mmap(nullptr, static_cast<size_t>(page), PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    return nullptr;
  }
  if (madvise(p, static_cast<size_t>(page), MADV_WIPEONFORK) != 0) {
    munmap(p, static_cast<size_t>(page));
    return nullptr;
  }
  static_assert(std::atomic<pid_t>::is_always_lock_free,
                "a zeroed page must read as an atomic 0");
  return new (p) std::atomic<pid_t>(0);
}

// The page is made when the library loads (dynamic initialisation of a
// namespace-scope object, before main or before dlopen returns), never at a
// first check: a function-local static's guard, held by a thread inside the
// first check at the moment another thread forks, would stay held in the
// child, and the child's first check would wait on it for ever. Read as null
// before it is made (by another library's load-time code, say) it means
// "call getpid()", which is right, only slower.
std::atomic<pid_t>* const g_pid_page = MakePidPage();

}  // namespace

pid_t CurrentPid() noexcept {
  std::atomic<pid_t>* page = g_pid_page;
  if (page == nullptr) {
    return getpid();
  }
  pid_t pid = page->load(std::memory_order_relaxed);
  if (pid == 0) {
    // The first check in this process, or in a child whose page the kernel
    // wiped: every thread that races here stores the same value.
    pid = getpid();
    page->store(pid, std::memory_order_relaxed);
  }
  return pid;
}

tl_status ForkedError(const char* function, const char* handle_type,
                      const char* open_function, pid_t owner) noexcept {
  try {
    return SetThreadError(
        TL_E_FORKED,
        absl::StrCat(function, ": this ", handle_type, " belongs to process ",
                     owner, ", and this process (", CurrentPid(),
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
