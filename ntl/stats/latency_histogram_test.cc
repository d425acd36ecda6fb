#include "ntl/stats/latency_histogram.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace trustlink::ntl::stats {
namespace {

TEST(LatencyHistogramTest, BucketsTileTheRangeWithoutGapsOrOverlap) {
  EXPECT_EQ(LatencyBucketLow(0), 0u);
  for (size_t b = 1; b < kNumLatencyBuckets; ++b) {
    ASSERT_EQ(LatencyBucketLow(b), LatencyBucketHigh(b - 1) + 1)
        << "bucket " << b;
    ASSERT_EQ(LatencyBucket(LatencyBucketLow(b)), b);
    ASSERT_EQ(LatencyBucket(LatencyBucketHigh(b)), b);
  }
}

TEST(LatencyHistogramTest, SmallValuesAreExact) {
  for (uint64_t v = 0; v < 16; ++v) {
    EXPECT_EQ(LatencyBucketLow(LatencyBucket(v)), v);
    EXPECT_EQ(LatencyBucketHigh(LatencyBucket(v)), v);
  }
}

TEST(LatencyHistogramTest, BucketWidthIsAtMostAnEighthOfItsValue) {
  for (size_t b = kSubBuckets; b < kNumLatencyBuckets; ++b) {
    const uint64_t width = LatencyBucketHigh(b) - LatencyBucketLow(b) + 1;
    EXPECT_LE(width * 8, LatencyBucketLow(b)) << "bucket " << b;
  }
}

TEST(LatencyHistogramTest, HugeValuesShareTheLastBucket) {
  EXPECT_EQ(LatencyBucket(UINT64_MAX), kNumLatencyBuckets - 1);
  EXPECT_EQ(LatencyBucket(uint64_t{1} << 55), kNumLatencyBuckets - 1);
  EXPECT_EQ(LatencyBucket((uint64_t{1} << 51) - 1), kNumLatencyBuckets - 1);
  EXPECT_LT(LatencyBucket((uint64_t{1} << 50) - 1), kNumLatencyBuckets - 8);
}

TEST(LatencyHistogramTest, EmptyHistogramReportsZero) {
  LatencyHistogram h;
  HistogramCounts c;
  h.AddTo(&c);
  EXPECT_EQ(c.Total(), 0u);
  EXPECT_EQ(c.Quantile(0.5), 0u);
  EXPECT_EQ(c.Quantile(0.99), 0u);
}

TEST(LatencyHistogramTest, QuantilesOfKnownValues) {
  LatencyHistogram h;
  for (uint64_t v = 1; v <= 100; ++v) {
    h.Record(v);
  }
  HistogramCounts c;
  h.AddTo(&c);
  EXPECT_EQ(c.Total(), 100u);
  // Ranks 50, 90, 99 are the values 50, 90, 99: reported within 1/16.
  EXPECT_NEAR(static_cast<double>(c.Quantile(0.50)), 50.0, 50.0 / 16);
  EXPECT_NEAR(static_cast<double>(c.Quantile(0.90)), 90.0, 90.0 / 16);
  EXPECT_NEAR(static_cast<double>(c.Quantile(0.99)), 99.0, 99.0 / 16);
  EXPECT_EQ(c.Quantile(1.0), c.Quantile(0.999));
}

TEST(LatencyHistogramTest, QuantileOfOneValueIsThatValue) {
  LatencyHistogram h;
  h.Record(7);
  HistogramCounts c;
  h.AddTo(&c);
  EXPECT_EQ(c.Quantile(0.01), 7u);
  EXPECT_EQ(c.Quantile(0.99), 7u);
}

TEST(LatencyHistogramTest, QuantilesOfRandomValuesAreWithinASixteenth) {
  std::mt19937_64 rng(15);
  // Log-uniform from 1 ns to 10 ms: what call latencies spread over.
  std::uniform_real_distribution<double> exp(0.0, 7.0);
  std::vector<uint64_t> values;
  LatencyHistogram h;
  for (int i = 0; i < 20000; ++i) {
    const uint64_t v = static_cast<uint64_t>(std::pow(10.0, exp(rng)));
    values.push_back(v);
    h.Record(v);
  }
  std::sort(values.begin(), values.end());
  HistogramCounts c;
  h.AddTo(&c);
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    const double exact = static_cast<double>(
        values[static_cast<size_t>(std::ceil(q * values.size())) - 1]);
    EXPECT_NEAR(static_cast<double>(c.Quantile(q)), exact, exact / 16 + 0.5)
        << "q=" << q;
  }
}

TEST(LatencyHistogramTest, ShardsAddUp) {
  LatencyHistogram a, b;
  a.Record(10);
  b.Record(10);
  b.Record(1000);
  HistogramCounts c;
  a.AddTo(&c);
  b.AddTo(&c);
  EXPECT_EQ(c.Total(), 3u);
  EXPECT_EQ(c.counts[LatencyBucket(10)], 2u);
}

TEST(LatencyHistogramTest, ConcurrentRecordsAreAllCounted) {
  LatencyHistogram h;
  constexpr int kThreads = 4;
  constexpr int kEach = 50000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&h, t] {
      for (int i = 0; i < kEach; ++i) {
        h.Record(static_cast<uint64_t>(t * 100 + i % 100));
      }
    });
  }
  // Reading while they record is allowed (and checked by TSan).
  HistogramCounts during;
  h.AddTo(&during);
  for (std::thread& t : threads) {
    t.join();
  }
  HistogramCounts c;
  h.AddTo(&c);
  EXPECT_LE(during.Total(), c.Total());
  EXPECT_EQ(c.Total(), uint64_t{kThreads} * kEach);
}

}  // namespace
}  // namespace trustlink::ntl::stats
