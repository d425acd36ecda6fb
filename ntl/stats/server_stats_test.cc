#include "ntl/stats/server_stats.h"

#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace trustlink::ntl::stats {
namespace {

uint64_t Value(const StatList& list, const std::string& name) {
  const Stat* s = FindStat(list, name.c_str());
  EXPECT_NE(s, nullptr) << "no counter " << name;
  return s == nullptr ? 0 : s->value;
}

TEST(ServerStatsTest, RulesMapToTheirOwnCounters) {
  EXPECT_EQ(RefusalOfRule("registered"), Refusal::kUnknownCertificate);
  EXPECT_EQ(RefusalOfRule("ipcheck"), Refusal::kIpMismatch);
  EXPECT_EQ(RefusalOfRule("dns"), Refusal::kDns);
  EXPECT_EQ(RefusalOfRule("validity"), Refusal::kCertificateValidity);
  EXPECT_EQ(RefusalOfRule("alpn"), Refusal::kAlpn);
  EXPECT_EQ(RefusalOfRule("htl"), Refusal::kHtl);
  EXPECT_EQ(RefusalOfRule("link-cap"), Refusal::kLinkCap);
  EXPECT_EQ(RefusalOfRule("unauthenticated-cap"), Refusal::kUnauthenticatedCap);
  EXPECT_EQ(RefusalOfRule("something-new"), Refusal::kOther);
}

TEST(ServerStatsTest, SnapshotSumsTheShards) {
  ServerStats stats(3);
  stats.shard(0)->Handshake(false);
  stats.shard(1)->Handshake(false);
  stats.shard(2)->Handshake(true);
  stats.shard(1)->Refused(Refusal::kIpMismatch);
  stats.shard(2)->Refused(Refusal::kUnknownCertificate);
  stats.shard(2)->Refused(Refusal::kUnknownCertificate);
  stats.shard(0)->bytes_in.Add(100);
  stats.shard(1)->bytes_in.Add(20);
  stats.shard(5)->bytes_out.Add(7);  // wraps to shard 2
  stats.shard(0)->CallFailedEarly();
  const StatList s = stats.Snapshot();
  EXPECT_EQ(Value(s, "handshakes_full"), 2u);
  EXPECT_EQ(Value(s, "handshakes_resumed"), 1u);
  EXPECT_EQ(Value(s, "refused_ip_mismatch"), 1u);
  EXPECT_EQ(Value(s, "refused_unknown_certificate"), 2u);
  EXPECT_EQ(Value(s, "refused_alpn"), 0u);
  EXPECT_EQ(Value(s, "bytes_in"), 120u);
  EXPECT_EQ(Value(s, "bytes_out"), 7u);
  EXPECT_EQ(Value(s, "calls"), 1u);
  EXPECT_EQ(Value(s, "calls_failed"), 1u);
  EXPECT_EQ(Value(s, "call_latency_p50_ns"), 0u);  // no timed call
}

TEST(ServerStatsTest, NamesAreUnique) {
  ServerStats stats(1);
  const StatList s = stats.Snapshot();
  for (size_t i = 0; i < s.size(); ++i) {
    for (size_t j = i + 1; j < s.size(); ++j) {
      EXPECT_STRNE(s[i].name, s[j].name);
    }
  }
}

TEST(ServerStatsTest, CallTimerCountsInFlightUntilFinished) {
  ServerStats stats(2);
  CallTimer ok(stats.shard(0));
  CallTimer bad(stats.shard(1));
  EXPECT_EQ(Value(stats.Snapshot(), "calls_in_flight"), 2u);
  EXPECT_EQ(Value(stats.Snapshot(), "calls"), 0u);
  ok.Finish(0);
  bad.Finish(208);
  const StatList s = stats.Snapshot();
  EXPECT_EQ(Value(s, "calls_in_flight"), 0u);
  EXPECT_EQ(Value(s, "calls"), 2u);
  EXPECT_EQ(Value(s, "calls_failed"), 1u);
}

TEST(ServerStatsTest, ShardsTouchedFromManyThreadsAddUp) {
  ServerStats stats(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&stats, t] {
      for (int i = 0; i < 10000; ++i) {
        const std::shared_ptr<ServerShard>& shard =
            stats.shard(static_cast<size_t>(t + i));
        CallTimer timer(shard);
        shard->bytes_in.Add(3);
        timer.Finish(i % 10 == 0 ? 1 : 0);
      }
    });
  }
  StatList during = stats.Snapshot();  // allowed while they count
  for (std::thread& t : threads) {
    t.join();
  }
  const StatList s = stats.Snapshot();
  EXPECT_LE(Value(during, "calls"), Value(s, "calls"));
  EXPECT_EQ(Value(s, "calls"), 40000u);
  EXPECT_EQ(Value(s, "calls_failed"), 4000u);
  EXPECT_EQ(Value(s, "calls_in_flight"), 0u);
  EXPECT_EQ(Value(s, "bytes_in"), 120000u);
}

}  // namespace
}  // namespace trustlink::ntl::stats
