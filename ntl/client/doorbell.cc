#include "ntl/client/doorbell.h"

#include <unistd.h>

#include <cstdint>

namespace trustlink::ntl::client {
namespace {

// The doorbell whose rings this thread defers, and whether one came.
thread_local const Doorbell* t_deferring = nullptr;
thread_local bool t_deferred_ring = false;

}  // namespace

void Doorbell::Ring() {
  if (t_deferring == this) {
    t_deferred_ring = true;
    return;
  }
  internal::MutexLock lock(&mu_);
  if (fd_ < 0) {
    return;
  }
  const uint64_t one = 1;
  // A full eventfd counter (EAGAIN) still leaves the loop readable.
  ssize_t n = write(fd_, &one, sizeof(one));
  (void)n;
  rings_.fetch_add(1, std::memory_order_relaxed);
}

bool Doorbell::Deferred() const { return t_deferring == this; }

void Doorbell::Disconnect() {
  internal::MutexLock lock(&mu_);
  fd_ = -1;
}

Doorbell::DeferScope::DeferScope(Doorbell* bell)
    : outer_(t_deferring), outer_rang_(t_deferred_ring) {
  t_deferring = bell;
  t_deferred_ring = false;
}

Doorbell::DeferScope::~DeferScope() {
  t_deferring = outer_;
  t_deferred_ring = outer_rang_;
}

bool Doorbell::DeferScope::rang() {
  const bool r = t_deferred_ring;
  t_deferred_ring = false;
  return r;
}

}  // namespace trustlink::ntl::client
