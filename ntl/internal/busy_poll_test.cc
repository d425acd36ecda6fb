#include "ntl/internal/busy_poll.h"

#include <chrono>

#include "gtest/gtest.h"

namespace trustlink::ntl::internal {
namespace {

constexpr uint32_t kBudgetUs = 200;

// SlowSleep stands for a wait that outlasts the budget: it returns once the
// steady clock has passed twice the budget (a condition, not a timed sleep).
void SlowSleep() {
  const auto until = std::chrono::steady_clock::now() +
                     std::chrono::microseconds(2 * kBudgetUs);
  while (std::chrono::steady_clock::now() < until) {
  }
}

TEST(BusyPollTest, OffItOnlySleeps) {
  BusyPoll off;
  int polls = 0;
  int sleeps = 0;
  for (int i = 0; i < 10; ++i) {
    off.Wait([&]() { return ++polls > 0; }, [&]() { ++sleeps; });
  }
  EXPECT_FALSE(off.enabled());
  EXPECT_EQ(polls, 0);
  EXPECT_EQ(sleeps, 10);
  EXPECT_EQ(off.counts().polls, 0u);
}

TEST(BusyPollTest, AnAnswerFoundWhileSpinningSkipsTheSleep) {
  BusyPoll spin(kBudgetUs);
  int polls = 0;
  int sleeps = 0;
  spin.Wait([&]() { return ++polls == 3; }, [&]() { ++sleeps; });
  EXPECT_EQ(polls, 3);
  EXPECT_EQ(sleeps, 0);
  EXPECT_EQ(spin.counts().hits, 1u);
  EXPECT_EQ(spin.counts().polls, 3u);
}

TEST(BusyPollTest, ASpinThatFindsNothingStopsAtItsBudgetThenSleeps) {
  BusyPoll spin(kBudgetUs);
  int sleeps = 0;
  spin.Wait([]() { return false; }, [&]() { ++sleeps; });
  EXPECT_EQ(sleeps, 1);
  EXPECT_EQ(spin.counts().misses, 1u);
  EXPECT_GT(spin.counts().polls, 0u);
}

TEST(BusyPollTest, AfterAMissOnlyAWaitWithinTheBudgetTurnsSpinningBackOn) {
  BusyPoll spin(kBudgetUs);
  int polls = 0;
  auto never = [&]() {
    ++polls;
    return false;
  };
  spin.Wait(never, []() {});  // a miss: spinning stops
  const int after_miss = polls;
  // Slow waits (an idle link) cost no polls at all.
  for (int i = 0; i < 5; ++i) {
    spin.Wait(never, SlowSleep);
  }
  EXPECT_EQ(polls, after_miss);
  EXPECT_EQ(spin.counts().misses, 1u);
  // A wait that ended within the budget: the next one spins again.
  spin.Wait(never, []() {});
  EXPECT_EQ(polls, after_miss);
  spin.Wait([&]() { return ++polls > 0; }, []() {});
  EXPECT_EQ(polls, after_miss + 1);
  EXPECT_EQ(spin.counts().hits, 1u);
}

TEST(BusyPollTest, ABudgetOverTheLimitIsRefusedNamingIt) {
  EXPECT_TRUE(CheckBusyPollBudget(0, "x").ok());
  EXPECT_TRUE(CheckBusyPollBudget(kMaxBusyPollMicros, "x").ok());
  absl::Status st = CheckBusyPollBudget(kMaxBusyPollMicros + 1, "busy-poll");
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("busy-poll of 1001 microseconds"),
            absl::string_view::npos)
      << st;
  EXPECT_NE(st.message().find("limit of 1000"), absl::string_view::npos) << st;
}

}  // namespace
}  // namespace trustlink::ntl::internal
