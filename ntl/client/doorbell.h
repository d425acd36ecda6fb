#ifndef TRUSTLINK_NTL_CLIENT_DOORBELL_H_
#define TRUSTLINK_NTL_CLIENT_DOORBELL_H_

// Doorbell wakes the client's event loop (an eventfd inside its epoll set).
// It is shared with the Client's workers (an HTL proof request, a test's
// resolver), which the Client joins before closing the eventfd; it also
// disconnects it first, so a Ring() after that does nothing instead of writing
// to a closed (or reused) descriptor.

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

  // Ring makes the loop's next (or current) epoll_wait return.
  void Ring();
  // Disconnect makes every later Ring() a no-op.
  void Disconnect();

 private:
  internal::Mutex mu_;
  int fd_ ABSL_GUARDED_BY(mu_);
};

}  // namespace trustlink::ntl::client

#endif  // TRUSTLINK_NTL_CLIENT_DOORBELL_H_
