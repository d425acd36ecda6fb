#include "ntl/client/doorbell.h"

#include <unistd.h>

#include <cstdint>

namespace trustlink::ntl::client {

void Doorbell::Ring() {
  internal::MutexLock lock(&mu_);
  if (fd_ < 0) {
    return;
  }
  const uint64_t one = 1;
  // A full eventfd counter (EAGAIN) still leaves the loop readable.
  ssize_t n = write(fd_, &one, sizeof(one));
  (void)n;
}

void Doorbell::Disconnect() {
  internal::MutexLock lock(&mu_);
  fd_ = -1;
}

}  // namespace trustlink::ntl::client
