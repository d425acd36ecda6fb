#ifndef TRUSTLINK_NTL_SERVER_RESOLVER_POOL_H_
#define TRUSTLINK_NTL_SERVER_RESOLVER_POOL_H_

// ResolverPool runs hostname lookups for admission off the event loops: a few
// worker threads, a bounded queue, one lookup per hostname at a time however
// many handshakes wait for it, and a cache of answers with a short TTL so a
// busy client does not cost one lookup per handshake. Private to ntl/server.

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "ntl/server/resolver.h"

namespace trustlink::ntl::server {

struct ResolverPoolOptions {
  int threads = 2;          // lookups that may block at once
  size_t max_pending = 64;  // hostnames queued or in flight; more are refused
  absl::Duration ttl = absl::Seconds(30);          // an answer with addresses
  absl::Duration negative_ttl = absl::Seconds(5);  // "no such host"
};

// Thread safety: all methods are safe to call from any thread.
class ResolverPool {
 public:
  // Done receives the lookup's outcome on a worker thread, with no lock held.
  using Done = std::function<void(const Resolution&)>;

  ResolverPool(std::shared_ptr<Resolver> resolver, ResolverPoolOptions options);
  // The destructor is Stop().
  ~ResolverPool();

  // Cached returns the answer for `hostname` if one younger than its TTL is
  // cached at `now`, else nullopt. It never blocks on a lookup.
  std::optional<Resolution> Cached(const std::string& hostname,
                                   absl::Time now) const;

  // Lookup resolves `hostname` on a worker and calls `done` with the answer
  // (which is then cached). A lookup already in flight for the name is shared.
  // Returns false, without calling `done`, when max_pending hostnames are
  // already waiting or the pool has stopped. The pool bounds neither the
  // resolver nor the wait: callers keep their own deadline.
  bool Lookup(const std::string& hostname, Done done);

  // Stop cancels the resolver (Resolver::Cancel) and joins every worker;
  // callbacks of lookups still waiting are dropped. No worker outlives it.
  // Idempotent.
  void Stop();

  // lookups is how many times the resolver was called (for tests and status).
  size_t lookups() const;

 private:
  struct State;
  static void Run(std::shared_ptr<State> state);

  const std::shared_ptr<State> state_;
  std::vector<std::thread> threads_;
};

}  // namespace trustlink::ntl::server

#endif  // TRUSTLINK_NTL_SERVER_RESOLVER_POOL_H_
