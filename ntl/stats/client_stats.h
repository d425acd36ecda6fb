#ifndef TRUSTLINK_NTL_STATS_CLIENT_STATS_H_
#define TRUSTLINK_NTL_STATS_CLIENT_STATS_H_

// The client's counters (docs/client.md, "Counters"): calls timed by wrapping
// their callbacks (ClientStats::Wrap), link ups and downs, and per link the
// handshakes and TLS bytes (LinkCounters). Bytes are not counted per send: the
// socket BIO already keeps totals (BIO_number_read/written), which are banked
// when a session is freed, so the I/O path pays nothing for them.

#include <openssl/ssl.h>

#include <chrono>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "ntl/stats/counter.h"
#include "ntl/stats/latency_histogram.h"

namespace trustlink::ntl::stats {

// LinkCounters are one server link's handshakes and bytes, over all its
// sessions. Thread safety: not thread-safe; the owning Connection's lock
// guards it.
struct LinkCounters {
  uint64_t handshakes_full = 0;
  uint64_t handshakes_resumed = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;

  void Handshake(bool resumed) {
    ++(resumed ? handshakes_resumed : handshakes_full);
  }
  // Bank adds the byte totals of `ssl`'s BIOs (NULL: nothing) before the
  // session is freed.
  void Bank(const SSL* ssl);
  // WithLive returns these counters plus the bytes of the live session `ssl`.
  LinkCounters WithLive(const SSL* ssl) const;
  LinkCounters& operator+=(const LinkCounters& o);
};

// ClientStats counts the calls and link changes of one client.
// Thread safety: every method may run on any thread at once.
class ClientStats {
 public:
  using CallCallback = std::function<void(absl::StatusOr<std::string>)>;

  // Wrap returns `cb` timed: the call counts as in flight until `cb` runs (or
  // is dropped without running: a call that failed before it was sent, or a
  // blocking call that gave up at its deadline, which count as failed).
  CallCallback Wrap(CallCallback cb);
  // CallStart and CallEnd count one call without wrapping its callback: the
  // allocation-free path of the C ABI's asynchronous calls, whose completion
  // always runs (no drop without a run). Pass CallStart's value to CallEnd
  // exactly once.
  using CallStartTime = std::chrono::steady_clock::time_point;
  CallStartTime CallStart();
  void CallEnd(CallStartTime start, bool ok) {
    CallEndAt(start, ok, std::chrono::steady_clock::now());
  }
  // CallEndAt is CallEnd with the end time read by the caller: the calls that
  // one read of the link completed end together, on one clock read.
  void CallEndAt(CallStartTime start, bool ok, CallStartTime end);

  void LinkUp() { link_up_.Add(); }
  void LinkDown() { link_down_.Add(); }

  // Snapshot returns every counter in the order of docs/client.md's table,
  // with `links` (the sum over the client's links) in their place.
  StatList Snapshot(const LinkCounters& links) const;

 private:
  class Timed;

  Counter calls_;
  Counter calls_failed_;
  Gauge calls_in_flight_;
  Counter link_up_;
  Counter link_down_;
  LatencyHistogram call_latency_;
};

}  // namespace trustlink::ntl::stats

#endif  // TRUSTLINK_NTL_STATS_CLIENT_STATS_H_
