#ifndef TRUSTLINK_BENCHMARKS_BASELINE_MEDIAN_H_
#define TRUSTLINK_BENCHMARKS_BASELINE_MEDIAN_H_

// The baseline a benchmark's `x_baseline` ratio divides by. Google Benchmark
// calls a benchmark function several times: short probes that size the
// iteration count, then the measured run, once per repetition. Dividing by
// whichever baseline run came last made the ratio depend on one noisy
// repetition (issue 16: it printed 0.063 where the medians gave 0.485), so
// the ratio divides by the median of the baseline's measured runs.

#include <algorithm>
#include <vector>

namespace trustlink::benchmarks {

// BaselineRun is one call of a baseline benchmark: its rate and how long it
// ran.
struct BaselineRun {
  double rate;
  double seconds;
};

// MedianBaseline is the median rate of the measured runs in `runs`: those that
// ran at least half as long as the longest (the probes are far shorter).
// 0 when `runs` is empty.
inline double MedianBaseline(const std::vector<BaselineRun>& runs) {
  double longest = 0;
  for (const BaselineRun& r : runs) {
    longest = std::max(longest, r.seconds);
  }
  std::vector<double> rates;
  for (const BaselineRun& r : runs) {
    if (r.seconds >= longest / 2) {
      rates.push_back(r.rate);
    }
  }
  if (rates.empty()) {
    return 0;
  }
  std::sort(rates.begin(), rates.end());
  const size_t n = rates.size();
  return n % 2 == 1 ? rates[n / 2] : (rates[n / 2 - 1] + rates[n / 2]) / 2;
}

}  // namespace trustlink::benchmarks

#endif  // TRUSTLINK_BENCHMARKS_BASELINE_MEDIAN_H_
