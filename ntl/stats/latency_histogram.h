#ifndef TRUSTLINK_NTL_STATS_LATENCY_HISTOGRAM_H_
#define TRUSTLINK_NTL_STATS_LATENCY_HISTOGRAM_H_

// LatencyHistogram: call latencies in fixed log-spaced buckets, recorded with
// one relaxed atomic add and no lock, so the hot path of every call pays a
// few nanoseconds whatever the number of threads. Quantiles come from a copy
// of the counts (HistogramCounts).
//
// Latencies are in nanoseconds: an appliance's own partition can answer in
// well under a microsecond. Buckets: 0..7 ns have one bucket each; above,
// every power of two is split into 8 equal buckets, so a quantile is reported
// within 1/16 (6.25%) of the true value. Latencies of 2^51 ns (26 days) and
// more share the last bucket.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace trustlink::ntl::stats {

inline constexpr int kSubBucketBits = 3;
inline constexpr uint64_t kSubBuckets = uint64_t{1} << kSubBucketBits;
inline constexpr int kMaxExponent = 50;
inline constexpr size_t kNumLatencyBuckets =
    kSubBuckets + (kMaxExponent - kSubBucketBits + 1) * kSubBuckets;

// LatencyBucket maps `nanos` to its bucket; LatencyBucketLow and
// LatencyBucketHigh are the smallest and largest value a bucket holds.
size_t LatencyBucket(uint64_t nanos);
uint64_t LatencyBucketLow(size_t bucket);
uint64_t LatencyBucketHigh(size_t bucket);

// HistogramCounts is a plain copy of a histogram's buckets.
struct HistogramCounts {
  std::array<uint64_t, kNumLatencyBuckets> counts{};

  uint64_t Total() const;
  // Quantile returns the latency (ns) below or at which a fraction `q`
  // (0 < q <= 1) of the recorded calls fall: the middle of the bucket that
  // holds that rank. 0 when nothing was recorded.
  uint64_t Quantile(double q) const;
};

// Thread safety: Record and AddTo may run on any threads at once. AddTo reads
// each bucket atomically but not all of them at one instant, so a copy taken
// during calls may miss the calls that finish while it is taken.
class LatencyHistogram {
 public:
  // Record counts `num` samples of `nanos` each.
  void Record(uint64_t nanos, uint64_t num = 1) {
    buckets_[LatencyBucket(nanos)].fetch_add(num, std::memory_order_relaxed);
  }
  // AddTo adds this histogram's counts to `out` (to sum several shards).
  void AddTo(HistogramCounts* out) const;

 private:
  std::array<std::atomic<uint64_t>, kNumLatencyBuckets> buckets_{};
};

}  // namespace trustlink::ntl::stats

#endif  // TRUSTLINK_NTL_STATS_LATENCY_HISTOGRAM_H_
