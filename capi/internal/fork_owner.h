#ifndef TRUSTLINK_CAPI_INTERNAL_FORK_OWNER_H_
#define TRUSTLINK_CAPI_INTERNAL_FORK_OWNER_H_

// Fork safety for the handles that own threads and sockets (tl_client,
// tl_server); docs/c-api.md, "Fork".
//
// A fork() child inherits a copy of such a handle but none of its threads, and
// shares with the parent every descriptor the handle holds: the sockets, their
// TLS state (the same sequence numbers and keys), the epoll set. Anything the
// child does on them (a write, a read that eats the parent's bytes, an
// SSL_shutdown, an epoll_ctl) breaks the parent's links, and the handle's locks
// may be held by a parent thread that does not exist in the child. So a handle
// remembers the process that made it, and every call from another process is
// refused with TL_E_FORKED before it touches any of that.
//
// Detection compares process ids, not pthread_atfork: it also sees a child
// made by a raw clone() or syscall(SYS_fork), which skip the atfork handlers;
// it needs no process-wide list of handles and no lock at fork time; and it
// leaves nothing registered that a dlclose of the library would have to undo.
// The current process id is read from a page the kernel wipes in every child
// (MADV_WIPEONFORK, as BoringSSL's fork detection does), so a call costs one
// load, not a getpid() system call (about 0.2-0.5 us, paid by every call
// before; issue 16). Without that kernel feature (Linux < 4.14) it calls
// getpid().

#include <sys/types.h>
#include <unistd.h>

#include <atomic>

#include "trustlink/base.h"

namespace trustlink::capi::internal {

// CurrentPid is getpid(), read from the wipe-on-fork page when the kernel
// has one: a system call only in the first call of a new process.
pid_t CurrentPid() noexcept;

// ForkOwner is the process a handle belongs to. Thread safety: safe from any
// thread.
class ForkOwner {
 public:
  ForkOwner() : pid_(CurrentPid()) {}
  // InForkedChild is true when the caller runs in another process than the
  // one that owns the handle.
  bool InForkedChild() const { return CurrentPid() != pid_.load(); }
  pid_t pid() const { return pid_.load(); }
  // Adopt makes this process the owner. Only for a handle that holds no
  // thread and no descriptor yet (a tl_server before tl_server_start): a
  // daemon may build its server, fork to detach, and start it in the child.
  void Adopt() { pid_.store(CurrentPid()); }

 private:
  std::atomic<pid_t> pid_;
};

// ForkedError makes TL_E_FORKED the calling thread's last error, in a message
// naming `function`, the handle's type and how to get one of the child's own
// (`open_function`), and returns it. It never writes to the handle: its lock
// may be held by a parent thread that the child does not have.
tl_status ForkedError(const char* function, const char* handle_type,
                      const char* open_function, pid_t owner) noexcept;

// KeepForever keeps `object` allocated and reachable for the life of the
// process. A forked child's close uses it for the inner client or server:
// running its destructor would take locks and walk containers that a parent
// thread may have been changing at the moment of fork, and would reach the
// shared sockets and epoll set. Leak checkers see it as reachable, not lost.
void KeepForever(const void* object) noexcept;

}  // namespace trustlink::capi::internal

#endif  // TRUSTLINK_CAPI_INTERNAL_FORK_OWNER_H_
