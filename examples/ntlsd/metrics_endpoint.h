#ifndef TRUSTLINK_EXAMPLES_NTLSD_METRICS_ENDPOINT_H_
#define TRUSTLINK_EXAMPLES_NTLSD_METRICS_ENDPOINT_H_

// ntlsd's optional Prometheus endpoint (--metrics ADDR:PORT; docs/server.md,
// "Prometheus"): plain HTTP on an address the admin chooses, answering
// GET /metrics with the server's counters in Prometheus's text format. Off by
// default. It serves from the daemon's own loop, one short request at a time,
// so a slow scraper delays the status socket by at most its timeout, never a
// link (those run on the library's threads).

#include <string>

#include "trustlink/trustlink.h"

namespace ntlsd {

// PrometheusText renders a counters snapshot: every value as
// trustlink_ntls_<name>_total (a counter), calls_in_flight as a gauge and the
// call_latency_pNN_ns values as one summary in seconds.
std::string PrometheusText(const tl_stats* stats);

class MetricsEndpoint {
 public:
  MetricsEndpoint() = default;
  ~MetricsEndpoint();
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

  // Open listens on `listen` ("ADDR:PORT", "[V6]:PORT"; port 0 picks one).
  // Returns false and says why in `error`.
  bool Open(const std::string& listen, std::string* error);
  int fd() const { return fd_; }
  // Address is where it listens ("127.0.0.1:9464").
  const std::string& address() const { return address_; }

  // Serve takes one connection, reads its request (1 s at most) and answers
  // GET /metrics with `metrics`, anything else with 404 or 405.
  void Serve(const std::string& metrics);

 private:
  int fd_ = -1;
  std::string address_;
};

}  // namespace ntlsd

#endif  // TRUSTLINK_EXAMPLES_NTLSD_METRICS_ENDPOINT_H_
