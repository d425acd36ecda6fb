#ifndef TRUSTLINK_NTL_STATS_COUNTER_H_
#define TRUSTLINK_NTL_STATS_COUNTER_H_

// Counter and Gauge: relaxed atomics, the one kind of number the hot paths
// touch. Relaxed order is enough: a counter orders nothing, and a reader only
// needs each value, not a consistent cut across values. StatList is how every
// set of counters is read out: named values, in a fixed order.

#include <atomic>
#include <cstdint>
#include <cstring>
#include <vector>

namespace trustlink::ntl::stats {

// Thread safety: every method may run on any thread at once.
class Counter {
 public:
  void Add(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t Get() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// Gauge goes up and down (calls in flight). A shard's gauge may go below zero
// when another shard counted the rise; only the sum means something.
// Thread safety: every method may run on any thread at once.
class Gauge {
 public:
  void Add(int64_t n) { value_.fetch_add(n, std::memory_order_relaxed); }
  int64_t Get() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

// Stat is one named value. `name` is a static string (it outlives every
// snapshot), lower_snake_case, and never renamed once published: names are
// part of the C ABI's contract (docs/c-api.md, "Counters").
struct Stat {
  const char* name;
  uint64_t value;
};
using StatList = std::vector<Stat>;

// FindStat returns the entry of `list` named `name`, or null.
inline const Stat* FindStat(const StatList& list, const char* name) {
  for (const Stat& s : list) {
    if (std::strcmp(s.name, name) == 0) {
      return &s;
    }
  }
  return nullptr;
}

}  // namespace trustlink::ntl::stats

#endif  // TRUSTLINK_NTL_STATS_COUNTER_H_
