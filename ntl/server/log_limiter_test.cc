#include "ntl/server/log_limiter.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace trustlink::ntl::server::internal_engine {
namespace {

TEST(LogLimiterTest, PassesABurstThenCountsTheRest) {
  LogLimiter limiter(3, absl::Seconds(10));
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  std::vector<std::string> summaries;
  int passed = 0;
  for (int i = 0; i < 100; ++i) {
    passed += limiter.Admit("closed", t0, &summaries) ? 1 : 0;
  }
  EXPECT_EQ(passed, 3);
  EXPECT_TRUE(summaries.empty());
  // Another kind has its own budget.
  EXPECT_TRUE(limiter.Admit("evicted", t0, &summaries));
  // The next window opens with the summary of the last one.
  EXPECT_TRUE(limiter.Admit("closed", t0 + absl::Seconds(10), &summaries));
  ASSERT_EQ(summaries.size(), 1u);
  EXPECT_TRUE(absl::StrContains(summaries[0], "kind=closed lines=97"))
      << summaries[0];
  EXPECT_TRUE(absl::StrContains(summaries[0], "97 similar lines suppressed"));
}

TEST(LogLimiterTest, FlushReportsAFloodThatStopped) {
  LogLimiter limiter(1, absl::Seconds(1));
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  std::vector<std::string> summaries;
  limiter.Admit("refused", t0, &summaries);
  limiter.Admit("refused", t0, &summaries);
  EXPECT_TRUE(limiter.Flush(t0 + absl::Milliseconds(500)).empty());
  std::vector<std::string> out = limiter.Flush(t0 + absl::Seconds(1));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(absl::StrContains(out[0], "kind=refused lines=1")) << out[0];
  EXPECT_TRUE(limiter.Flush(t0 + absl::Seconds(5)).empty());
}

TEST(LogLimiterTest, ZeroBurstIsNoLimit) {
  LogLimiter limiter(0, absl::Seconds(1));
  std::vector<std::string> summaries;
  for (int i = 0; i < 1000; ++i) {
    EXPECT_TRUE(limiter.Admit("x", absl::Now(), &summaries));
  }
}

}  // namespace
}  // namespace trustlink::ntl::server::internal_engine
