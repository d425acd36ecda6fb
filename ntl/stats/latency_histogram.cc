#include "ntl/stats/latency_histogram.h"

#include <cmath>

namespace trustlink::ntl::stats {

size_t LatencyBucket(uint64_t nanos) {
  if (nanos < kSubBuckets) {
    return static_cast<size_t>(nanos);
  }
  const int exponent = 63 - __builtin_clzll(nanos);
  if (exponent > kMaxExponent) {
    return kNumLatencyBuckets - 1;
  }
  const uint64_t sub =
      (nanos >> (exponent - kSubBucketBits)) & (kSubBuckets - 1);
  return static_cast<size_t>(kSubBuckets +
                             (exponent - kSubBucketBits) * kSubBuckets + sub);
}

uint64_t LatencyBucketLow(size_t bucket) {
  if (bucket < kSubBuckets) {
    return bucket;
  }
  const uint64_t shift = (bucket - kSubBuckets) / kSubBuckets;
  const uint64_t sub = (bucket - kSubBuckets) % kSubBuckets;
  return (kSubBuckets + sub) << shift;
}

uint64_t LatencyBucketHigh(size_t bucket) {
  if (bucket < kSubBuckets) {
    return bucket;
  }
  const uint64_t shift = (bucket - kSubBuckets) / kSubBuckets;
  return LatencyBucketLow(bucket) + (uint64_t{1} << shift) - 1;
}

uint64_t HistogramCounts::Total() const {
  uint64_t total = 0;
  for (uint64_t c : counts) {
    total += c;
  }
  return total;
}

uint64_t HistogramCounts::Quantile(double q) const {
  const uint64_t total = Total();
  if (total == 0) {
    return 0;
  }
  q = std::min(std::max(q, 0.0), 1.0);
  // The rank of the call at quantile q, counting from 1: p50 of 2 calls is
  // the first, p99 of 100 calls the 99th.
  uint64_t rank =
      static_cast<uint64_t>(std::ceil(q * static_cast<double>(total)));
  rank = std::max<uint64_t>(rank, 1);
  uint64_t seen = 0;
  for (size_t b = 0; b < counts.size(); ++b) {
    seen += counts[b];
    if (seen >= rank) {
      return LatencyBucketLow(b) +
             (LatencyBucketHigh(b) - LatencyBucketLow(b)) / 2;
    }
  }
  return LatencyBucketHigh(counts.size() - 1);
}

void LatencyHistogram::AddTo(HistogramCounts* out) const {
  for (size_t b = 0; b < kNumLatencyBuckets; ++b) {
    out->counts[b] += buckets_[b].load(std::memory_order_relaxed);
  }
}

}  // namespace trustlink::ntl::stats
