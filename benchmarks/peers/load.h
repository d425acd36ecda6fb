#ifndef TRUSTLINK_BENCHMARKS_PEERS_LOAD_H_
#define TRUSTLINK_BENCHMARKS_PEERS_LOAD_H_

// What every workload of the load generator shares: the work to run, its
// result, and the clock.

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

inline double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace trustlink::peers

#endif  // TRUSTLINK_BENCHMARKS_PEERS_LOAD_H_
