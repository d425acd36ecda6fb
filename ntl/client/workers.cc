#include "ntl/client/workers.h"

#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <utility>
#include <vector>

namespace trustlink::ntl::client {

Workers::Workers() : cancel_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

Workers::~Workers() {
  StopAll();
  if (cancel_fd_ >= 0) {
    close(cancel_fd_);
  }
}

void Workers::Run(std::function<void()> job) {
  auto w = std::make_shared<Worker>();
  internal::MutexLock lock(&mu_);
  JoinFinishedLocked();
  sigset_t all;
  sigset_t old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  // `finished` is set under mu_ as the job's last act, so a finished worker
  // is joined at once by the next Run (its thread is about to return).
  w->thread = std::thread([this, w, job = std::move(job)]() {
    job();
    internal::MutexLock l(&mu_);
    w->finished = true;
  });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  workers_.push_back(std::move(w));
}

void Workers::JoinFinishedLocked() {
  for (auto it = workers_.begin(); it != workers_.end();) {
    if ((*it)->finished) {
      (*it)->thread.join();
      it = workers_.erase(it);
    } else {
      ++it;
    }
  }
}

void Workers::StopAll() {
  if (cancel_fd_ >= 0) {
    const uint64_t one = 1;
    ssize_t n = write(cancel_fd_, &one, sizeof(one));
    (void)n;  // a full counter is readable all the same
  }
  std::list<std::shared_ptr<Worker>> all;
  {
    internal::MutexLock lock(&mu_);
    all.swap(workers_);
  }
  for (auto& w : all) {
    w->thread.join();
  }
}

size_t Workers::running() {
  internal::MutexLock lock(&mu_);
  JoinFinishedLocked();
  return workers_.size();
}

}  // namespace trustlink::ntl::client
