// The counters' cost on the hot path (docs/benchmarks.md, "Counters"), each
// beside a baseline measured in the same run:
//   BM_ClockPair          two steady_clock reads: the floor of timing a call
//   BM_ServerCallTimer    one partition call's counting (CallTimer)
//   BM_ClientCallWrap     one client call's counting (a wrapped callback)
//                         against BM_PlainCallback, the callback alone
//   BM_CounterAdd         one relaxed add (a recv's or send's bytes)
// Run with --benchmark_filter and threads to see the shards at work:
// BM_ServerCallTimer/threads:2 shares nothing between loops.
#include <chrono>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "benchmark/benchmark.h"
#include "ntl/stats/client_stats.h"
#include "ntl/stats/server_stats.h"

namespace trustlink::ntl::stats {
namespace {

void BM_ClockPair(benchmark::State& state) {
  for (auto _ : state) {
    auto a = std::chrono::steady_clock::now();
    auto b = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(b - a);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ClockPair);

void BM_ServerCallTimer(benchmark::State& state) {
  static ServerStats* stats = new ServerStats(8);
  const std::shared_ptr<ServerShard>& shard =
      stats->shard(static_cast<size_t>(state.thread_index()));
  for (auto _ : state) {
    CallTimer timer(shard);
    timer.Finish(0);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ServerCallTimer)->Threads(1)->Threads(2);

void BM_PlainCallback(benchmark::State& state) {
  int sink = 0;
  for (auto _ : state) {
    ClientStats::CallCallback cb = [&sink](absl::StatusOr<std::string> r) {
      sink += r.ok();
    };
    cb(std::string("x"));
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PlainCallback);

void BM_ClientCallWrap(benchmark::State& state) {
  ClientStats stats;
  int sink = 0;
  for (auto _ : state) {
    ClientStats::CallCallback cb =
        stats.Wrap([&sink](absl::StatusOr<std::string> r) { sink += r.ok(); });
    cb(std::string("x"));
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ClientCallWrap);

void BM_CounterAdd(benchmark::State& state) {
  static ServerStats* stats = new ServerStats(8);
  const std::shared_ptr<ServerShard>& shard =
      stats->shard(static_cast<size_t>(state.thread_index()));
  for (auto _ : state) {
    shard->bytes_in.Add(1500);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CounterAdd)->Threads(1)->Threads(2);

}  // namespace
}  // namespace trustlink::ntl::stats
