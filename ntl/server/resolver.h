#ifndef TRUSTLINK_NTL_SERVER_RESOLVER_H_
#define TRUSTLINK_NTL_SERVER_RESOLVER_H_

// Hostname resolution for ipcheck admission (docs/server.md, "Admission"). A
// client registered by hostname with no mapped IP is checked against what its
// name resolves to. The lookup may block for many seconds (a dead DNS server),
// so it never runs on an event loop: ResolverPool runs it on its own workers
// and caches the answer; stopping the server cancels it (c-ares, where
// getaddrinfo could not be), so no worker outlives the server.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace trustlink::ntl::server {

// Resolution is one hostname lookup's outcome.
struct Resolution {
  // status is OK, or says why the name has no usable address (no such host,
  // no answer before the deadline, the resolver queue is full).
  absl::Status status;
  std::vector<std::string> addresses;  // canonical text (inet_ntop form)
};

// Resolver looks hostnames up. It is the test seam for DNS: tests inject one
// that answers, fails or hangs. Thread safety: Resolve is called from the
// resolver workers, possibly concurrently.
class Resolver {
 public:
  virtual ~Resolver() = default;
  // Resolve returns the addresses `hostname` has now, or an error naming why
  // it has none. It may block; ResolverPool bounds how long the server waits.
  virtual absl::StatusOr<std::vector<std::string>> Resolve(
      const std::string& hostname) = 0;
  // Cancel makes every Resolve running now or later return at once; the pool
  // calls it as it stops, then joins its workers, so a Resolve that ignored it
  // would hold up the server's stop.
  virtual void Cancel() = 0;
};

// SystemResolver returns a resolver with the system's configuration (c-ares,
// ntl/internal/dns.h: the hosts file, then DNS per resolv.conf), whose
// lookups Cancel ends at once. `dns_servers`, when not empty, replaces
// resolv.conf's name servers (c-ares CSV; for tests).
std::shared_ptr<Resolver> SystemResolver(std::string dns_servers = "");

}  // namespace trustlink::ntl::server

#endif  // TRUSTLINK_NTL_SERVER_RESOLVER_H_
