#include "benchmarks/baseline_median.h"

#include "gtest/gtest.h"

namespace trustlink::benchmarks {
namespace {

TEST(BaselineMedianTest, IsTheMedianOfTheMeasuredRunsNotTheLast) {
  // Two probes, then three repetitions; the last repetition was disturbed.
  const std::vector<BaselineRun> runs = {
      {1000, 0.001}, {2000, 0.01}, {78000, 0.5}, {77000, 0.5}, {5000, 0.5}};
  EXPECT_DOUBLE_EQ(MedianBaseline(runs), 77000);
}

TEST(BaselineMedianTest, IgnoresShortProbes) {
  const std::vector<BaselineRun> runs = {{10, 0.001}, {500, 0.6}};
  EXPECT_DOUBLE_EQ(MedianBaseline(runs), 500);
}

TEST(BaselineMedianTest, EvenCountAveragesTheMiddleTwo) {
  const std::vector<BaselineRun> runs = {{1, 1}, {3, 1}, {5, 1}, {7, 1}};
  EXPECT_DOUBLE_EQ(MedianBaseline(runs), 4);
}

TEST(BaselineMedianTest, NoRunsGivesZero) { EXPECT_EQ(MedianBaseline({}), 0); }

}  // namespace
}  // namespace trustlink::benchmarks
