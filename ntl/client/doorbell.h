#ifndef TRUSTLINK_NTL_CLIENT_DOORBELL_H_
#define TRUSTLINK_NTL_CLIENT_DOORBELL_H_

// Doorbell wakes the client's event loop (an eventfd inside its epoll set).
// It is shared with the Client's workers (an HTL proof request, a test's
// resolver), which the Client joins before closing the eventfd; it also
// disconnects it first, so a Ring() after that does nothing instead of writing
// to a closed (or reused) descriptor.

#include <atomic>
#include <cstdint>

#include "ntl/internal/mutex.h"

namespace trustlink::ntl::client {

// Thread safety: all methods are safe from any thread. Lock order: the
// Client's mutex may be held while ringing; the doorbell's own mutex is never
// held while taking another lock.
class Doorbell {
 public:
  // Doorbell borrows `eventfd`; the Client closes it after Disconnect().
  explicit Doorbell(int eventfd) : fd_(eventfd) {}
  Doorbell(const Doorbell&) = delete;
  Doorbell& operator=(const Doorbell&) = delete;

  // Ring makes the loop's next (or current) epoll_wait return; inside a
  // DeferScope on this thread it only notes that it rang.
  void Ring();
  // Disconnect makes every later Ring() a no-op.
  void Disconnect();
  // Deferred says whether this thread is inside a DeferScope of this doorbell:
  // it is running the loop's callbacks, and the loop writes after them.
  bool Deferred() const;
  // rings counts the eventfd writes so far, so tests can see wake-ups saved.
  uint64_t rings() const { return rings_.load(std::memory_order_relaxed); }

  // DeferScope is held by the thread that runs the loop's completions. A
  // callback there that queues a call would ring for the loop, which is this
  // very thread: the write, the epoll_wait it ends and the eventfd read are
  // three syscalls per batch for nothing. Inside the scope Ring() on this
  // thread only notes it, and the scope's owner does the loop's work itself
  // once the callbacks are done (Client::RunCompletions). Rings from other
  // threads still write. A scope inside another (a callback of one client
  // driving another's Process) saves the outer one's state and restores it,
  // so a ring the outer scope deferred is not lost.
  class DeferScope {
   public:
    explicit DeferScope(Doorbell* bell);
    ~DeferScope();
    DeferScope(const DeferScope&) = delete;
    DeferScope& operator=(const DeferScope&) = delete;
    // rang says whether Ring() was called on this thread since the scope
    // began (or since the last call to rang()), and resets it.
    bool rang();

   private:
    const Doorbell* outer_;
    bool outer_rang_;
  };

 private:
  internal::Mutex mu_;
  int fd_ ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> rings_{0};
};

}  // namespace trustlink::ntl::client

#endif  // TRUSTLINK_NTL_CLIENT_DOORBELL_H_
