#ifndef TRUSTLINK_BENCHMARKS_PEERS_LOAD_H_
#define TRUSTLINK_BENCHMARKS_PEERS_LOAD_H_

// What every workload of the load generator shares: the work to run, its
// result, and the clock.

#include <sys/resource.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace trustlink::peers {

// Work describes one measurement. Each is bounded in time (`seconds`) and,
// for link counts, in count.
struct Work {
  size_t size = 64;      // payload bytes per call
  int depth = 64;        // calls in flight (the "inflight" work)
  double seconds = 1.0;  // how long a rate is measured
  int count = 1000;      // links (the "links" work)
  double timeout = 60;   // the longest a set of links may take to come up
  // busy_poll_us: trustlink's busy-poll budget
  // (tl_client_settings_set_busy_poll); 0, the library's default, is off.
  uint32_t busy_poll_us = 0;
};

// Result is a measured figure, or the reason there is none.
struct Result {
  bool ok = false;
  double value = 0;
  std::string error;

  static Result Of(double v) { return Result{true, v, ""}; }
  static Result Fail(std::string why) {
    return Result{false, 0, std::move(why)};
  }
};

using Clock = std::chrono::steady_clock;

// ProcessCpuSeconds is the CPU (user + system) this process has used so far,
// all threads.
inline double ProcessCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

inline double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace trustlink::peers

#endif  // TRUSTLINK_BENCHMARKS_PEERS_LOAD_H_
