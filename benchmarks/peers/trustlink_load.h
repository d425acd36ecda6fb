#ifndef TRUSTLINK_BENCHMARKS_PEERS_TRUSTLINK_LOAD_H_
#define TRUSTLINK_BENCHMARKS_PEERS_TRUSTLINK_LOAD_H_

// The workloads through trustlink, on the C ABI alone (libtrustlink.so.1), as
// an embedder runs them: calls on the software partition's echo op.

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "benchmarks/peers/load.h"
#include "trustlink/trustlink.h"

namespace trustlink::peers {

// TlLinks is one tl_client with `links` links to the first server of a client
// root (the first from trustlink.conf, the others added with the same pinned
// certificate), counting its links up and down through link events.
// Thread safety: the counters are safe from any thread; Close must not race.
class TlLinks {
 public:
  // Open starts the links, with busy-poll `busy_poll_us` (0: off), and
  // returns at once; see WaitAllUp.
  static std::unique_ptr<TlLinks> Open(const std::string& root, int links,
                                       uint32_t busy_poll_us,
                                       std::string* error);
  ~TlLinks();

  tl_client* client() { return client_; }
  // EchoSlot finds the slot of partition "echo" on the first link's server.
  bool EchoSlot(int32_t* slot, std::string* error);
  // WaitAllUp / WaitAllDown wait until every link is up (down); the result is
  // the seconds waited, or the count reached at the timeout.
  Result WaitAllUp(double timeout);
  Result WaitAllDown(double timeout);

 private:
  TlLinks() = default;
  static void OnEvent(void* self, int32_t kind, size_t server, tl_status st);
  Result WaitFor(int want_up, double timeout);

  tl_client* client_ = nullptr;
  std::string first_server_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<bool> up_;  // guarded by mu_
  int num_up_ = 0;        // guarded by mu_
};

// Calls per second, one blocking tl_client_call at a time.
Result TlRoundTrips(TlLinks* links, const Work& w);
// Calls per second with w.depth tl_client_call_async calls always in flight:
// each completion sends the next call from its callback.
Result TlInFlight(TlLinks* links, const Work& w);
// Payload megabytes (10^6) per second echoed, one w.size call at a time.
Result TlBulk(TlLinks* links, const Work& w);

}  // namespace trustlink::peers

#endif  // TRUSTLINK_BENCHMARKS_PEERS_TRUSTLINK_LOAD_H_
