#ifndef TRUSTLINK_NTL_CLIENT_RESOLVER_H_
#define TRUSTLINK_NTL_CLIENT_RESOLVER_H_

// Server name resolution for the client's links, kept off the I/O thread.
//
// A host that is an IP literal never goes near the resolver. A name is looked
// up on a short-lived worker thread (getaddrinfo cannot be cancelled or made
// non-blocking), which rings the loop's doorbell when it has an answer; the
// connection gives up on it at its connect deadline. The connection then tries
// every address in turn.

#include <sys/socket.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ntl/client/doorbell.h"
#include "ntl/client/settings.h"
#include "ntl/internal/mutex.h"

namespace trustlink::ntl::client {

// SocketAddress is one address to connect to, with its printable form
// ("127.0.0.1:1792", "[::1]:1792") for error messages.
struct SocketAddress {
  sockaddr_storage addr{};
  socklen_t len = 0;
  std::string text;
};

// ParseNumericAddress returns the address for an IPv4 or IPv6 literal
// ("[::1]" too), or nullopt when `host` is a name.
std::optional<SocketAddress> ParseNumericAddress(const std::string& host,
                                                 uint16_t port);

// SystemResolve looks `host` up with getaddrinfo (blocking) and returns every
// distinct address as an IP literal, the two families interleaved (RFC 8305
// order: the system's first choice, then the other family, and so on).
absl::StatusOr<std::vector<std::string>> SystemResolve(const std::string& host);

// ResolveNow runs `resolver` (SystemResolve when empty) on this thread and
// turns its literals into addresses with `port`. Errors name the host.
absl::StatusOr<std::vector<SocketAddress>> ResolveNow(
    const ResolverFn& resolver, const std::string& server_name,
    const std::string& host, uint16_t port);

// PendingResolution is one lookup running on its own worker thread.
//
// Thread safety: all methods are safe from any thread. The worker holds a
// reference to it, so it may outlive the connection that started it.
class PendingResolution {
 public:
  // Start runs ResolveNow on a new detached thread and rings `doorbell` when
  // done.
  static std::shared_ptr<PendingResolution> Start(
      ResolverFn resolver, std::string server_name, std::string host,
      uint16_t port, std::shared_ptr<Doorbell> doorbell);

  // Take returns the outcome once the lookup has finished (each time it is
  // asked), or nullopt while it still runs.
  std::optional<absl::StatusOr<std::vector<SocketAddress>>> Take();

 private:
  void Finish(absl::StatusOr<std::vector<SocketAddress>> result);

  internal::Mutex mu_;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<SocketAddress> addresses_ ABSL_GUARDED_BY(mu_);
  // The failure as plain data: an absl::Status made on the worker and read on
  // the loop would share a representation across threads (fresh_status.h).
  int error_code_ ABSL_GUARDED_BY(mu_) = 0;  // absl::StatusCode, 0 = OK
  int error_tl_ ABSL_GUARDED_BY(mu_) = 0;
  std::string error_message_ ABSL_GUARDED_BY(mu_);
};

}  // namespace trustlink::ntl::client

#endif  // TRUSTLINK_NTL_CLIENT_RESOLVER_H_
