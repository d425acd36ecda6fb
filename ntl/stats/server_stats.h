#ifndef TRUSTLINK_NTL_STATS_SERVER_STATS_H_
#define TRUSTLINK_NTL_STATS_SERVER_STATS_H_

// ServerStats: the NTLS server's counters (docs/server.md, "Counters").
// One shard per event loop, each on its own cache lines, so loops never write
// to the same line; a snapshot sums the shards. The engine's files call in
// with one line each (ntl/server keeps no counting logic of its own).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "ntl/stats/counter.h"
#include "ntl/stats/latency_histogram.h"

namespace trustlink::ntl::stats {

// Refusal is an admission rule that turned a peer away, each its own counter.
enum class Refusal {
  kUnknownCertificate,   // the certificate is not registered
  kIpMismatch,           // ipcheck: wrong source address
  kDns,                  // ipcheck by hostname: the lookup failed
  kCertificateValidity,  // a registered certificate outside its dates
  kAlpn,                 // no ntl/1 or htl/1 offered
  kHtl,                  // HTL asked by one side only, or a bad HTL proof
  kLinkCap,              // the client's (or the total) link cap is full
  kUnauthenticatedCap,   // no room for one more connection not yet admitted
  kOther,                // a rule this version does not name
  kCount,
};

// RefusalOfRule maps an admission rule's name (Admission::rule, the log's
// rule=) to its counter.
Refusal RefusalOfRule(absl::string_view rule);

// ServerShard holds one event loop's counters.
// Thread safety: every member may be used from any thread at once.
struct alignas(64) ServerShard {
  Counter handshakes_full;
  Counter handshakes_resumed;
  Counter handshakes_failed;  // TLS failures of peers not already refused
  Counter refusals[static_cast<size_t>(Refusal::kCount)];
  Counter evictions;  // connections not yet admitted, closed to make room
  Counter calls;      // requests answered, by the partition or the server
  Counter calls_failed;
  Gauge calls_in_flight;  // handed to the partition, not yet answered
  Counter bytes_in;       // TLS bytes received
  Counter bytes_out;      // TLS bytes sent
  Counter htl_up;         // HTL links established (an OTT redeemed)
  Counter htl_down;       // clients whose HTL went Down
  Counter htl_clone_alerts;
  LatencyHistogram call_latency;

  void Refused(Refusal r) { refusals[static_cast<size_t>(r)].Add(); }
  void Handshake(bool resumed) {
    (resumed ? handshakes_resumed : handshakes_full).Add();
  }
  // CallFailedEarly counts a request the server answered itself with a
  // failure (partition not assigned, shutting down): it never reached the
  // partition, so it has no latency.
  void CallFailedEarly() {
    calls.Add();
    calls_failed.Add();
  }
  // CallsFinished counts `num` calls handed to the partition that were
  // answered, `failed` of them with a failure, each after `nanos`: an event
  // loop counts the calls answered on the spot once per wake-up.
  void CallsFinished(uint64_t nanos, uint64_t num, uint64_t failed) {
    call_latency.Record(nanos, num);
    calls_in_flight.Add(-static_cast<int64_t>(num));
    calls.Add(num);
    if (failed != 0) {
      calls_failed.Add(failed);
    }
  }
};

// CallTimer times one request from its hand-off to the partition handler to
// the handler's answer. It shares its shard: an embedder's handler may answer
// after the server is gone. Thread safety: Finish may run on any thread, once.
class CallTimer {
 public:
  explicit CallTimer(std::shared_ptr<ServerShard> shard)
      : CallTimer(std::move(shard), std::chrono::steady_clock::now()) {}
  // This one starts at `start`, a time the caller already read: an event
  // loop reads the clock once per wake-up, not once per call.
  CallTimer(std::shared_ptr<ServerShard> shard,
            std::chrono::steady_clock::time_point start)
      : shard_(std::move(shard)), start_(start) {
    shard_->calls_in_flight.Add(1);
  }
  CallTimer(const CallTimer&) = delete;
  CallTimer& operator=(const CallTimer&) = delete;
  void Finish(int32_t status);

 private:
  const std::shared_ptr<ServerShard> shard_;
  const std::chrono::steady_clock::time_point start_;
};

// Thread safety: safe to use from any thread; shards live as long as it.
class ServerStats {
 public:
  explicit ServerStats(size_t num_shards);
  // shard returns the shard of loop `index`; work that belongs to no loop
  // (the HTL worker) uses shard 0.
  const std::shared_ptr<ServerShard>& shard(size_t index) const {
    return shards_[index % shards_.size()];
  }
  // Snapshot returns every counter, summed over the shards, in the order of
  // docs/server.md's table, then call_latency_p50_ns, _p90_ns and _p99_ns.
  StatList Snapshot() const;

 private:
  std::vector<std::shared_ptr<ServerShard>> shards_;
};

}  // namespace trustlink::ntl::stats

#endif  // TRUSTLINK_NTL_STATS_SERVER_STATS_H_
