#ifndef TRUSTLINK_NTL_CLIENT_FRAMED_SESSION_H_
#define TRUSTLINK_NTL_CLIENT_FRAMED_SESSION_H_

// FramedSession: one pinned, mutually authenticated TLS connection to a
// configured server with a chosen ALPN, carrying ntl/wire frames, used
// blocking by one thread. No hello/welcome, no reconnect, no multiplexing:
// one request, then its response. The HTL agent's htl/1 link is one
// (htl/link_connector.cc); the application links (Connection) are the
// multiplexed, event-driven kind.
//
// It shares the TLS context code, pinning and failure classification with
// Connection (tls_context.h, pin.h, socket_bio.h), so an htl/1 link is
// admitted and pinned exactly like an ntl/1 link.

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "ntl/client/resolver.h"
#include "ntl/client/settings.h"
#include "ntl/client/tls_context.h"
#include "third_party/boringssl_guard.h"

namespace trustlink::ntl::client {

// Thread safety: not thread-safe; one thread uses a session at a time.
class FramedSession : public PinnedPeer {
 public:
  // Connect opens a session to `server` with `ctx` (from MakeClientContext
  // with the wanted ALPN; the session holds its own reference) by `deadline`.
  // A host name is looked up with settings.resolver (c-ares when unset)
  // and every address is tried in turn, like Connection does; when none
  // accepts, the message lists each address with why it failed.
  // Failures are those of the application link: TL_E_CONNECTION_REFUSED,
  // TL_E_CERT_PIN_MISMATCH (both fingerprints), TL_E_NOT_REGISTERED,
  // TL_E_IP_MISMATCH, TL_E_DEADLINE_EXCEEDED, TL_E_TLS_HANDSHAKE (a server
  // that does not serve the ALPN says so in the message), and
  // TL_E_TRUST_STORE_INCONSISTENT for a server without a pinned certificate.
  static absl::StatusOr<std::unique_ptr<FramedSession>> Connect(
      SSL_CTX* ctx, const ServerSettings& server,
      const ClientSettings& settings, absl::Time deadline);
  ~FramedSession() override;
  FramedSession(const FramedSession&) = delete;
  FramedSession& operator=(const FramedSession&) = delete;

  // ssl is the session's TLS connection, for exporters; null once closed.
  const SSL* ssl() const { return ssl_.get(); }

  // Call sends one `request` (partition, op, data) and waits until `deadline`
  // for its `response`. Pings are answered while it waits. A non-zero
  // response status comes back as that tl_status with the server's message.
  // A deadline, a goaway or a broken connection closes the session for good
  // (so a late response is never read): TL_E_DEADLINE_EXCEEDED, the goaway's
  // code, or TL_E_CONNECTION_LOST; later Calls fail with
  // TL_E_CONNECTION_LOST.
  absl::StatusOr<std::string> Call(absl::string_view partition, uint32_t op,
                                   absl::string_view data, absl::Time deadline);

  // Close ends the session (TCP close without a TLS close_notify wait).
  void Close();
  bool closed() const { return fd_ < 0; }

  // PinnedPeer.
  bool CheckPin(const SSL* ssl) override;
  void SetSession(SSL_SESSION* session) override;

 private:
  FramedSession(const ServerSettings& server, const ClientSettings& settings)
      : server_(server), settings_(settings) {}
  absl::Status Open(SSL_CTX* ctx, absl::Time deadline);
  // Resolve returns the addresses of `host`: a literal at once, a name through
  // settings.resolver, else c-ares on this thread (ResolveNow), which gives
  // up at `deadline` and leaves nothing running. (Resolve and Dial are in
  // framed_session_dial.cc.)
  absl::StatusOr<std::vector<SocketAddress>> Resolve(const std::string& host,
                                                     absl::Time deadline);
  // Dial returns a socket connected to the first of `addresses` that accepts
  // by `deadline`, trying them in order; the caller owns it. As in
  // Connection::TryNextAddress, each address gets an equal share of the time
  // left (the last all that remains), so one that never answers (a black-holed
  // IPv6 route, a dead A record) leaves time for the others. When none
  // accepts, the error lists every attempt; it is TL_E_DEADLINE_EXCEEDED when
  // the time ran out.
  absl::StatusOr<int> Dial(const std::string& host,
                           const std::vector<SocketAddress>& addresses,
                           absl::Time deadline);
  absl::Status Handshake(absl::Time deadline);
  absl::Status WriteAll(const std::string& bytes, absl::Time deadline);
  // Wait waits until fd_ is ready for `events` or `deadline`.
  absl::Status Wait(short events, absl::Time deadline, absl::string_view phase);
  absl::Status Broken(const absl::Status& why);

  const ServerSettings server_;
  const ClientSettings settings_;
  int fd_ = -1;
  bssl::UniquePtr<SSL> ssl_;
  absl::Status pin_error_;
  std::string in_;
  uint32_t next_id_ = 1;
};

}  // namespace trustlink::ntl::client

#endif  // TRUSTLINK_NTL_CLIENT_FRAMED_SESSION_H_
