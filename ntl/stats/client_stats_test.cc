#include "ntl/stats/client_stats.h"

#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace trustlink::ntl::stats {
namespace {

uint64_t Value(const StatList& list, const std::string& name) {
  const Stat* s = FindStat(list, name.c_str());
  EXPECT_NE(s, nullptr) << "no counter " << name;
  return s == nullptr ? 0 : s->value;
}

TEST(ClientStatsTest, WrappedCallbackCountsTheCallBeforeItRuns) {
  ClientStats stats;
  uint64_t calls_seen_by_callback = 0;
  ClientStats::CallCallback cb = stats.Wrap([&](absl::StatusOr<std::string> r) {
    EXPECT_EQ(*r, "pong");
    calls_seen_by_callback = Value(stats.Snapshot({}), "calls");
  });
  EXPECT_EQ(Value(stats.Snapshot({}), "calls_in_flight"), 1u);
  cb(std::string("pong"));
  EXPECT_EQ(calls_seen_by_callback, 1u);
  const StatList s = stats.Snapshot({});
  EXPECT_EQ(Value(s, "calls_in_flight"), 0u);
  EXPECT_EQ(Value(s, "calls_failed"), 0u);
}

TEST(ClientStatsTest, FailedAndDroppedCallsCountAsFailed) {
  ClientStats stats;
  {
    ClientStats::CallCallback failed =
        stats.Wrap([](absl::StatusOr<std::string>) {});
    failed(absl::UnavailableError("down"));
    ClientStats::CallCallback dropped =
        stats.Wrap([](absl::StatusOr<std::string>) {});
    ClientStats::CallCallback copy = dropped;  // copies share one record
    EXPECT_EQ(Value(stats.Snapshot({}), "calls_in_flight"), 1u);
  }
  const StatList s = stats.Snapshot({});
  EXPECT_EQ(Value(s, "calls"), 2u);
  EXPECT_EQ(Value(s, "calls_failed"), 2u);
  EXPECT_EQ(Value(s, "calls_in_flight"), 0u);
}

TEST(ClientStatsTest, LinkCountersAddUp) {
  LinkCounters a;
  a.Handshake(false);
  a.Handshake(true);
  a.Bank(nullptr);  // no session: nothing to add
  a.bytes_in = 10;
  LinkCounters b = a.WithLive(nullptr);
  b += a;
  ClientStats stats;
  stats.LinkUp();
  stats.LinkDown();
  stats.LinkUp();
  const StatList s = stats.Snapshot(b);
  EXPECT_EQ(Value(s, "handshakes_full"), 2u);
  EXPECT_EQ(Value(s, "handshakes_resumed"), 2u);
  EXPECT_EQ(Value(s, "bytes_in"), 20u);
  EXPECT_EQ(Value(s, "link_up"), 2u);
  EXPECT_EQ(Value(s, "link_down"), 1u);
}

TEST(ClientStatsTest, CallsFromManyThreadsAddUp) {
  ClientStats stats;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&stats] {
      for (int i = 0; i < 5000; ++i) {
        stats.Wrap([](absl::StatusOr<std::string>) {})(std::string("x"));
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  const StatList s = stats.Snapshot({});
  EXPECT_EQ(Value(s, "calls"), 20000u);
  EXPECT_EQ(Value(s, "calls_in_flight"), 0u);
}

}  // namespace
}  // namespace trustlink::ntl::stats
