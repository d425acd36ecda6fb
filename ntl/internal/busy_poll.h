#ifndef TRUSTLINK_NTL_INTERNAL_BUSY_POLL_H_
#define TRUSTLINK_NTL_INTERNAL_BUSY_POLL_H_

// BusyPoll: the opt-in, bounded and adaptive spin before a thread sleeps for
// an answer (issue 16; docs/client.md and docs/server.md, "Busy-poll").
//
// Why: a one-call-at-a-time round trip sleeps twice (client for the answer,
// server for the next request). On a VM that idles with haltpoll and
// guest_halt_poll_ns=0 every sleep halts the vCPU, and the wake-up goes
// through the host and runs cold. Polling without blocking for a few
// microseconds first catches an answer that is about to come, at the price
// of that CPU. So it is off by default: hosts that share their cores for
// months must not burn idle CPU.
//
// Adaptive, as an adaptive mutex is: a spin that runs out its budget skips
// spinning for the next waits, twice as many after each miss in a row (1, 2,
// 4, ... up to kMaxBusyPollBackoff), and a spin that finds its event halves
// that count. A wait's answer that keeps coming within the budget keeps it
// spinning on every wait; an idle or slow link, or a core too busy for the
// peer to answer in time, makes it spin on a few waits in a thousand.
//
// Why not "spin again after one wait that ended within the budget" (the
// first version): on 2 loaded cores misses and quick waits alternated, so it
// kept spinning, stole the CPU the peer needed and cut round trips to a
// third (docs/benchmarks.md, "Round trips, fourth round").

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>

#include "absl/status/status.h"

namespace trustlink::ntl::internal {

// kMaxBusyPollMicros is the largest budget accepted: beyond a millisecond a
// sleep's wake-up cost (tens of microseconds) is noise, and the spin would
// only burn a core.
inline constexpr uint32_t kMaxBusyPollMicros = 1000;

// kMaxBusyPollBackoff is the most waits skipped after a run of misses.
inline constexpr uint32_t kMaxBusyPollBackoff = 1024;

// CheckBusyPollBudget refuses a budget over kMaxBusyPollMicros
// (InvalidArgument, naming the limit); `what` names the setting.
absl::Status CheckBusyPollBudget(uint32_t budget_us, const char* what);

// BusyPollCounts are what a BusyPoll did, for tests and status displays.
struct BusyPollCounts {
  uint64_t polls = 0;   // non-blocking polls made while spinning
  uint64_t hits = 0;    // spins that found the wait over
  uint64_t misses = 0;  // spins that ran out their budget (then slept)
};

// Thread safety: Wait from one thread at a time (the owner hands the role
// over under its own lock); counts() from any thread.
class BusyPoll {
 public:
  // budget_us 0 turns it off; callers validate against kMaxBusyPollMicros.
  explicit BusyPoll(uint32_t budget_us = 0)
      : budget_(std::chrono::microseconds(budget_us)) {}

  bool enabled() const { return budget_.count() != 0; }

  // Wait ends one wait. Off, or while skipping after misses, it is `sleep()`
  // and nothing else (no clock read). Else it calls `poll()` (a
  // non-blocking poll that returns true when the wait is over) until it
  // returns true or the budget is spent, then sleeps if it must.
  template <typename Poll, typename Sleep>
  void Wait(Poll poll, Sleep sleep) {
    if (!enabled()) {
      sleep();
      return;
    }
    if (skip_ != 0) {
      --skip_;
      sleep();
      return;
    }
    const Clock::time_point start = Clock::now();
    do {
      polls_.fetch_add(1, std::memory_order_relaxed);
      if (poll()) {
        hits_.fetch_add(1, std::memory_order_relaxed);
        backoff_ /= 2;
        return;
      }
    } while (Clock::now() - start < budget_);
    misses_.fetch_add(1, std::memory_order_relaxed);
    backoff_ = backoff_ == 0 ? 1 : std::min(2 * backoff_, kMaxBusyPollBackoff);
    skip_ = backoff_;
    sleep();
  }

  BusyPollCounts counts() const {
    return {polls_.load(std::memory_order_relaxed),
            hits_.load(std::memory_order_relaxed),
            misses_.load(std::memory_order_relaxed)};
  }

 private:
  using Clock = std::chrono::steady_clock;
  const Clock::duration budget_;
  // Only the waiting thread touches these (Wait's thread-safety rule; the
  // owner's lock orders one waiter after the next).
  uint32_t backoff_ = 0;  // waits to skip after the next miss, halved by hits
  uint32_t skip_ = 0;     // waits still to skip
  std::atomic<uint64_t> polls_{0};
  std::atomic<uint64_t> hits_{0};
  std::atomic<uint64_t> misses_{0};
};

}  // namespace trustlink::ntl::internal

#endif  // TRUSTLINK_NTL_INTERNAL_BUSY_POLL_H_
