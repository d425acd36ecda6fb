#ifndef TRUSTLINK_NTL_INTERNAL_DNS_H_
#define TRUSTLINK_NTL_INTERNAL_DNS_H_

// Name lookups that never hold a thread and can be cancelled: c-ares
// (docs/adr/0006-dns-with-c-ares.md).
//
// A DnsChannel runs lookups on its owner's event loop: it reports the sockets
// it wants watched (SocketWatch), the owner hands their readiness back
// (Process) and wakes it at NextDeadline (ProcessTimeouts). Destroying the
// channel cancels every lookup at once, which getaddrinfo cannot do: this is
// why closing a client or stopping a server never waits for DNS. LookupNow is
// the blocking form, for callers that have no loop (the HTL agent's link, the
// server's resolver workers).
//
// The hosts file is read first, then DNS with resolv.conf's servers and
// options (RES_OPTIONS in the environment applies too). NSS modules
// (nsswitch.conf sources other than files and dns) are not consulted.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

typedef struct ares_channeldata* ares_channel;

namespace trustlink::ntl::internal {

struct DnsOptions {
  // servers, when not empty, replaces resolv.conf's name servers, as c-ares's
  // CSV ("127.0.0.1:5353,[::1]:53"). For tests: the name servers of this
  // process are otherwise the system's.
  std::string servers;
};

// Thread safety: not thread-safe; the owner serialises every call (the
// client's lock, or the one thread of LookupNow).
class DnsChannel {
 public:
  // SocketWatch hears that c-ares opened or changed a socket (watch it for
  // `readable` / `writable`) or is closing it (both false: stop watching).
  using SocketWatch = std::function<void(int fd, bool readable, bool writable)>;
  // Done receives a lookup's addresses as IP literals, in the order to try
  // them (families interleaved, the resolver's first choice first; RFC 8305),
  // or kUnavailable with c-ares's reason. It runs inside Process or
  // ProcessTimeouts, never after the channel is destroyed.
  using Done = std::function<void(absl::StatusOr<std::vector<std::string>>)>;

  static absl::StatusOr<std::unique_ptr<DnsChannel>> Create(
      const DnsOptions& options, SocketWatch watch);
  // The destructor cancels every lookup still running; their Done never runs.
  ~DnsChannel();
  DnsChannel(const DnsChannel&) = delete;
  DnsChannel& operator=(const DnsChannel&) = delete;

  void Lookup(const std::string& host, Done done);
  // Process handles readiness of `fd`, one of the watched sockets.
  void Process(int fd, bool readable, bool writable);
  // ProcessTimeouts retries or fails the lookups whose time is up.
  void ProcessTimeouts();
  // NextDeadline is when ProcessTimeouts next has work (InfiniteFuture when
  // no lookup runs).
  absl::Time NextDeadline() const;
  // sockets are the descriptors c-ares holds open now.
  const std::vector<int>& sockets() const { return sockets_; }

 private:
  explicit DnsChannel(SocketWatch watch) : watch_(std::move(watch)) {}
  static void OnSocketState(void* self, int fd, int readable, int writable);

  ares_channel channel_ = nullptr;
  SocketWatch watch_;
  std::vector<int> sockets_;
};

// LookupNow looks `host` up on this thread until `deadline`, or until
// `cancel_fd` (when >= 0) is readable: then kCancelled, at once. Errors are
// kUnavailable (no such name, no answer), kDeadlineExceeded or kCancelled.
absl::StatusOr<std::vector<std::string>> LookupNow(const std::string& host,
                                                   absl::Time deadline,
                                                   int cancel_fd,
                                                   const DnsOptions& options);

}  // namespace trustlink::ntl::internal

#endif  // TRUSTLINK_NTL_INTERNAL_DNS_H_
