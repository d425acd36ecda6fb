#include "ntl/stats/server_stats.h"

#include <algorithm>

namespace trustlink::ntl::stats {

Refusal RefusalOfRule(absl::string_view rule) {
  // The names the admission code puts in its log lines (admission.cc,
  // handshake.cc, accept.cc).
  if (rule == "registered") return Refusal::kUnknownCertificate;
  if (rule == "ipcheck") return Refusal::kIpMismatch;
  if (rule == "dns") return Refusal::kDns;
  if (rule == "validity") return Refusal::kCertificateValidity;
  if (rule == "alpn") return Refusal::kAlpn;
  if (rule == "htl") return Refusal::kHtl;
  if (rule == "link-cap") return Refusal::kLinkCap;
  if (rule == "unauthenticated-cap") return Refusal::kUnauthenticatedCap;
  return Refusal::kOther;
}

void CallTimer::Finish(int32_t status) {
  const auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::steady_clock::now() - start_);
  shard_->CallsFinished(
      static_cast<uint64_t>(std::max<int64_t>(nanos.count(), 0)), 1,
      status != 0 ? 1 : 0);
}

ServerStats::ServerStats(size_t num_shards) {
  for (size_t i = 0; i < std::max<size_t>(num_shards, 1); ++i) {
    shards_.push_back(std::make_shared<ServerShard>());
  }
}

StatList ServerStats::Snapshot() const {
  // Names in the order of the table in docs/server.md; the refusal names
  // follow the Refusal enum.
  static constexpr const char* kRefusalNames[] = {
      "refused_unknown_certificate",
      "refused_ip_mismatch",
      "refused_dns",
      "refused_certificate_validity",
      "refused_alpn",
      "refused_htl",
      "refused_link_cap",
      "refused_unauthenticated_cap",
      "refused_other",
  };
  static_assert(sizeof(kRefusalNames) / sizeof(kRefusalNames[0]) ==
                static_cast<size_t>(Refusal::kCount));
  uint64_t full = 0, resumed = 0, failed = 0, evictions = 0, calls = 0,
           calls_failed = 0, bytes_in = 0, bytes_out = 0, htl_up = 0,
           htl_down = 0, alerts = 0;
  uint64_t refusals[static_cast<size_t>(Refusal::kCount)] = {};
  int64_t in_flight = 0;
  HistogramCounts latency;
  for (const std::shared_ptr<ServerShard>& shard : shards_) {
    const ServerShard& s = *shard;
    full += s.handshakes_full.Get();
    resumed += s.handshakes_resumed.Get();
    failed += s.handshakes_failed.Get();
    for (size_t r = 0; r < static_cast<size_t>(Refusal::kCount); ++r) {
      refusals[r] += s.refusals[r].Get();
    }
    evictions += s.evictions.Get();
    calls += s.calls.Get();
    calls_failed += s.calls_failed.Get();
    in_flight += s.calls_in_flight.Get();
    bytes_in += s.bytes_in.Get();
    bytes_out += s.bytes_out.Get();
    htl_up += s.htl_up.Get();
    htl_down += s.htl_down.Get();
    alerts += s.htl_clone_alerts.Get();
    s.call_latency.AddTo(&latency);
  }
  StatList out = {{"handshakes_full", full},
                  {"handshakes_resumed", resumed},
                  {"handshakes_failed", failed}};
  for (size_t r = 0; r < static_cast<size_t>(Refusal::kCount); ++r) {
    out.push_back({kRefusalNames[r], refusals[r]});
  }
  out.insert(out.end(),
             {{"evicted_unauthenticated", evictions},
              {"calls", calls},
              {"calls_failed", calls_failed},
              {"calls_in_flight",
               static_cast<uint64_t>(std::max<int64_t>(in_flight, 0))},
              {"bytes_in", bytes_in},
              {"bytes_out", bytes_out},
              {"htl_up", htl_up},
              {"htl_down", htl_down},
              {"htl_clone_alerts", alerts},
              {"call_latency_p50_ns", latency.Quantile(0.50)},
              {"call_latency_p90_ns", latency.Quantile(0.90)},
              {"call_latency_p99_ns", latency.Quantile(0.99)}});
  return out;
}

}  // namespace trustlink::ntl::stats
