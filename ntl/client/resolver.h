#ifndef TRUSTLINK_NTL_CLIENT_RESOLVER_H_
#define TRUSTLINK_NTL_CLIENT_RESOLVER_H_

// Server name resolution for the client's links, kept off the I/O thread's
// critical path.
//
// A host that is an IP literal never goes near the resolver. A name is looked
// up with c-ares on the client's own loop (ntl/internal/dns.h), so neither the
// I/O thread nor a caller of tl_client_process ever blocks on DNS, and closing
// the client cancels the lookup. A test's ResolverFn runs instead on a worker
// thread the Client owns and joins (workers.h). Either way the answer lands in
// a PendingResolution, which the connection polls and gives up on at its
// connect deadline; it then tries every address in turn.

#include <sys/socket.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ntl/client/doorbell.h"
#include "ntl/client/settings.h"
#include "ntl/client/workers.h"
#include "ntl/internal/dns.h"
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

// ResolveNow looks `host` up on this thread with `resolver`, or with c-ares
// (LookupNow, `settings.dns_servers`) until `deadline` when it is empty, and
// turns the literals into addresses with `port`. Errors name the server and
// host; running out of time is TL_E_DEADLINE_EXCEEDED.
absl::StatusOr<std::vector<SocketAddress>> ResolveNow(
    const ClientSettings& settings, const std::string& server_name,
    const std::string& host, uint16_t port, absl::Time deadline);

// PendingResolution is one lookup in progress.
//
// Thread safety: all methods are safe from any thread.
class PendingResolution {
 public:
  // Start runs `resolver` on a worker of `workers` and rings `doorbell` when
  // done.
  static std::shared_ptr<PendingResolution> Start(
      ResolverFn resolver, std::string server_name, std::string host,
      uint16_t port, std::shared_ptr<Doorbell> doorbell, Workers* workers);
  // StartDns looks `host` up on `dns`, the client's channel; the answer lands
  // while the loop processes the channel (and never, if the channel is
  // destroyed first).
  static std::shared_ptr<PendingResolution> StartDns(
      internal::DnsChannel* dns, const std::string& server_name,
      const std::string& host, uint16_t port);

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
