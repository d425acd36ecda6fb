#include "ntl/internal/busy_poll.h"

#include <algorithm>
#include <string>

#include "gtest/gtest.h"

namespace trustlink::ntl::internal {
namespace {

constexpr uint32_t kBudgetUs = 200;

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

// SpinPattern says which of `waits` waits spun (S) and which did not (.), with
// a poll that never finds anything (each spin is then a miss).
std::string SpinPattern(BusyPoll* spin, int waits) {
  std::string out;
  for (int i = 0; i < waits; ++i) {
    bool polled = false;
    spin->Wait(
        [&]() {
          polled = true;
          return false;
        },
        []() {});
    out += polled ? 'S' : '.';
  }
  return out;
}

TEST(BusyPollTest, MissesInARowSkipTwiceAsManyWaitsEachTime) {
  BusyPoll spin(kBudgetUs);
  // Spin, skip 1, spin, skip 2, spin, skip 4, spin, skip 8, spin.
  EXPECT_EQ(SpinPattern(&spin, 20), "S.S..S....S........S");
  EXPECT_EQ(spin.counts().misses, 5u);
}

TEST(BusyPollTest, AnIdleLinkSpinsOnAFewWaitsInAThousand) {
  BusyPoll spin(kBudgetUs);
  const std::string pattern = SpinPattern(&spin, 4000);
  const size_t spins =
      static_cast<size_t>(std::count(pattern.begin(), pattern.end(), 'S'));
  // 1 + 2 + ... + 1024 waits for the first 11 misses, then one in 1025.
  EXPECT_LE(spins, 15u) << pattern;
  EXPECT_EQ(spin.counts().misses, spins);
}

TEST(BusyPollTest, HitsHalveTheBackoffSoQuickAnswersKeepItSpinning) {
  BusyPoll spin(kBudgetUs);
  EXPECT_EQ(SpinPattern(&spin, 6), "S.S..S");  // backoff now 4, skipping 4
  EXPECT_EQ(SpinPattern(&spin, 4), "....");
  int polls = 0;
  auto hit = [&]() { return ++polls > 0; };
  spin.Wait(hit, []() {});  // a hit: backoff 2
  spin.Wait(hit, []() {});  // 1
  spin.Wait(hit, []() {});  // 0
  EXPECT_EQ(polls, 3);
  EXPECT_EQ(spin.counts().hits, 3u);
  // A miss now skips a single wait again.
  EXPECT_EQ(SpinPattern(&spin, 3), "S.S");
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
