#include "ntl/stats/client_stats.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <utility>

namespace trustlink::ntl::stats {

namespace {

void AddBioTotals(const SSL* ssl, uint64_t* in, uint64_t* out) {
  if (ssl == nullptr) {
    return;
  }
  if (const BIO* r = SSL_get_rbio(ssl)) {
    *in += BIO_number_read(r);
  }
  if (const BIO* w = SSL_get_wbio(ssl)) {
    *out += BIO_number_written(w);
  }
}

}  // namespace

void LinkCounters::Bank(const SSL* ssl) {
  AddBioTotals(ssl, &bytes_in, &bytes_out);
}

LinkCounters LinkCounters::WithLive(const SSL* ssl) const {
  LinkCounters out = *this;
  AddBioTotals(ssl, &out.bytes_in, &out.bytes_out);
  return out;
}

LinkCounters& LinkCounters::operator+=(const LinkCounters& o) {
  handshakes_full += o.handshakes_full;
  handshakes_resumed += o.handshakes_resumed;
  bytes_in += o.bytes_in;
  bytes_out += o.bytes_out;
  return *this;
}

// Timed is one call's record, shared by the copies of its wrapped callback.
// Whichever copy is the last to go finishes the record, so a callback that
// is dropped unrun still leaves the in-flight gauge.
class ClientStats::Timed {
 public:
  explicit Timed(ClientStats* stats)
      : stats_(stats), start_(stats->CallStart()) {}
  ~Timed() {
    if (!done_) {
      Finish(false);
    }
  }
  void Finish(bool ok) {
    done_ = true;
    stats_->CallEnd(start_, ok);
  }

 private:
  ClientStats* const stats_;
  const CallStartTime start_;
  bool done_ = false;  // a callback runs at most once, on one thread
};

ClientStats::CallStartTime ClientStats::CallStart() {
  calls_in_flight_.Add(1);
  return std::chrono::steady_clock::now();
}

void ClientStats::CallEndAt(CallStartTime start, bool ok, CallStartTime end) {
  const auto nanos =
      std::chrono::duration_cast<std::chrono::nanoseconds>(end - start);
  call_latency_.Record(
      static_cast<uint64_t>(std::max<int64_t>(nanos.count(), 0)));
  calls_in_flight_.Add(-1);
  calls_.Add();
  if (!ok) {
    calls_failed_.Add();
  }
}

ClientStats::CallCallback ClientStats::Wrap(CallCallback cb) {
  auto timed = std::make_shared<Timed>(this);
  return [timed, cb = std::move(cb)](absl::StatusOr<std::string> r) {
    // Counted before the callback runs: a caller woken by it sees its call
    // in the counters.
    timed->Finish(r.ok());
    cb(std::move(r));
  };
}

StatList ClientStats::Snapshot(const LinkCounters& links) const {
  HistogramCounts latency;
  call_latency_.AddTo(&latency);
  return {
      {"handshakes_full", links.handshakes_full},
      {"handshakes_resumed", links.handshakes_resumed},
      {"link_up", link_up_.Get()},
      {"link_down", link_down_.Get()},
      {"calls", calls_.Get()},
      {"calls_failed", calls_failed_.Get()},
      {"calls_in_flight",
       static_cast<uint64_t>(std::max<int64_t>(calls_in_flight_.Get(), 0))},
      {"bytes_in", links.bytes_in},
      {"bytes_out", links.bytes_out},
      {"call_latency_p50_ns", latency.Quantile(0.50)},
      {"call_latency_p90_ns", latency.Quantile(0.90)},
      {"call_latency_p99_ns", latency.Quantile(0.99)},
  };
}

}  // namespace trustlink::ntl::stats
