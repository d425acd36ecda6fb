#include "ntl/server/htl_worker.h"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <utility>

namespace trustlink::ntl::server::internal_engine {

HtlWorker::HtlWorker(std::shared_ptr<HtlGate> gate, absl::Duration tick)
    // A zero or negative tick would spin the worker.
    : gate_(std::move(gate)), tick_(std::max(tick, absl::Milliseconds(10))) {}

HtlWorker::~HtlWorker() { Stop(); }

void HtlWorker::Start() {
  // Every signal blocked, so the embedding program's handlers keep running on
  // its own threads.
  sigset_t all;
  sigset_t old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  thread_ = std::thread([this] { Run(); });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

bool HtlWorker::Post(std::function<void()> task) {
  {
    internal::MutexLock lock(&mu_);
    if (!accepting_) {
      return false;
    }
    tasks_.push_back(std::move(task));
  }
  cv_.Signal();
  return true;
}

void HtlWorker::Stop() {
  {
    internal::MutexLock lock(&mu_);
    stopping_ = true;
  }
  cv_.Signal();
  if (thread_.joinable()) {
    thread_.join();
  }
  std::deque<std::function<void()>> left;
  {
    internal::MutexLock lock(&mu_);
    accepting_ = false;
    left.swap(tasks_);
  }
  // Never started, or posted while stopping: run them here so no link close
  // is lost.
  for (auto& task : left) {
    task();
  }
}

void HtlWorker::Run() {
  pthread_setname_np(pthread_self(), "ntls-htl");
  absl::Time next_tick = absl::Now() + tick_;
  while (true) {
    std::function<void()> task;
    bool tick = false;
    {
      internal::MutexLock lock(&mu_);
      while (tasks_.empty() && !stopping_ && absl::Now() < next_tick) {
        cv_.WaitWithDeadline(&mu_, next_tick);
      }
      if (!tasks_.empty()) {
        task = std::move(tasks_.front());
        tasks_.pop_front();
      } else if (stopping_) {
        return;
      } else {
        tick = true;
      }
    }
    if (task) {
      task();
    }
    if (tick || absl::Now() >= next_tick) {
      next_tick = absl::Now() + tick_;
      gate_->Tick();
    }
  }
}

}  // namespace trustlink::ntl::server::internal_engine
